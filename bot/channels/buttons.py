"""Buttons on channels that have none: numbered options, and the reply "2" mapped back.

A channel without buttons (SMS, WhatsApp through Twilio, or too many buttons for Slack) sends

    Shall I cancel order 8170087700000003? ...
    1. Yes
    2. No

and a reply that is only an option's number (or exactly an option's title) becomes that button's
payload. The pending options of a sender are the buttons of the bot's messages since the sender's
last message, read from the tracker store: nothing to keep in memory, and they survive a restart.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

NUMBER_REPLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def numbered_text(text: str, buttons: list[dict[str, Any]]) -> str:
    """The message text followed by one numbered line per button."""
    options = "\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1))
    return f"{text.rstrip()}\n{options}" if text and text.strip() else options


def buttons_since_last_user_message(events: list[Any]) -> list[dict[str, Any]]:
    """The buttons of the latest bot message that had some, after the last user message."""
    for event in reversed(events):
        name = getattr(event, "type_name", None) or (event.get("event") if isinstance(event, dict) else None)
        if name == "user":
            return []
        if name == "bot":
            data = getattr(event, "data", None) if not isinstance(event, dict) else event.get("data")
            buttons = (data or {}).get("buttons") or []
            if buttons:
                return [b for b in buttons if isinstance(b, dict)]
    return []


def resolve_reply(text: str | None, buttons: list[dict[str, Any]]) -> str | None:
    """The payload a reply chooses ("2", "2.", or a title typed exactly), else None."""
    if not text or not buttons:
        return None
    match = NUMBER_REPLY.match(text)
    if match:
        index = int(match.group(1))
        if 1 <= index <= len(buttons):
            return buttons[index - 1].get("payload") or buttons[index - 1].get("title")
        return None
    wanted = text.strip().casefold()
    for button in buttons:
        if str(button.get("title", "")).strip().casefold() == wanted:
            return button.get("payload") or button.get("title")
    return None


async def pending_buttons(app: Any, sender_id: str) -> list[dict[str, Any]]:
    """Buttons the bot offered this sender since their last message (from the tracker store)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return []
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - an unreadable tracker just means "no pending options"
        logger.exception("could not read the tracker of a sender to resolve a numbered reply")
        return []
    return buttons_since_last_user_message(list(tracker.events)) if tracker else []


async def resolve_numbered_reply(app: Any, sender_id: str, text: str | None) -> str | None:
    """The text to hand to Rasa: a chosen option's payload, or the text unchanged."""
    if not text or len(text) > 200:
        return text
    buttons = await pending_buttons(app, sender_id)
    payload = resolve_reply(text, buttons)
    if payload:
        logger.debug("numbered reply %r -> %s", text, payload)
        return payload
    return text
