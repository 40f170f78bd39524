"""The conversation while an agent has it, inside the Rasa server.

``action_handoff`` pauses the conversation (``ConversationPaused``): Rasa then stores each customer
message (parsed, slots filled) but predicts nothing, so the bot says nothing. Two things still
have to happen on each customer message, and Rasa's only hook that runs on every message, paused
or not, is ``action_extract_slots`` with its custom slot mappings. The ``ticket_number`` slot's
mapping, ``action_handoff_relay``, runs :func:`relay_events` in-process (``bot/rasa_ext/slot_mappings.py``,
like the ``language`` slot's: no action-server call per message):

* **one acknowledgement**: the first message the customer writes after the pause, before any
  agent answered, gets ``utter_handoff_ack`` in the message's language (sent, and recorded in the
  conversation); later ones get nothing (the agent sees them in the console);
* **REST's next exchange**: a REST client cannot be pushed to, so what the console recorded for
  it since its previous message (agent replies, the hand-back greeting; ``delivered: false``)
  comes first in the answer to its next message.

The console marks what it records: ``BotUttered`` metadata ``via: console``, ``from: agent`` (or
``bot`` for the hand-back greeting), ``agent``, ``agent_text`` and ``delivered``.

:func:`session_start_events` is Rasa's own session start with the pause kept: used when the custom
``action_session_start`` (``actions/skills/handoff.py``) cannot run because the action server is
down, so that a new session never un-pauses a conversation an agent has.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import create_bot_utterance
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

RELAY_ACTION = "action_handoff_relay"
ACK_RESPONSE = "utter_handoff_ack"
LANGUAGE_SLOT = "language"
VIA_CONSOLE = "console"
_DELIVERED = "console_messages_delivered"


def console_metadata(sender: str, delivered: bool, **extra: Any) -> dict[str, Any]:
    """Metadata of a message the console records (``sender``: ``agent`` or ``bot``)."""
    return {"via": VIA_CONSOLE, "from": sender, "delivered": delivered, **extra}


def _metadata(event: Event) -> dict[str, Any]:
    return getattr(event, "metadata", None) or {}


def is_agent_message(event: Event) -> bool:
    return isinstance(event, BotUttered) and _metadata(event).get("from") == "agent"


def speaking_tracker(tracker: DialogueStateTracker, domain: Any) -> DialogueStateTracker:
    """The tracker with the ``language`` slot of the latest message: within this turn the slot
    mappings' events are not applied yet, and an answer must be in the language just written."""
    latest = tracker.latest_message
    language = (latest.parse_data or {}).get("language") if latest else None
    has_slot = any(slot.name == LANGUAGE_SLOT for slot in domain.slots)
    if not language or not has_slot or language == tracker.get_slot(LANGUAGE_SLOT):
        return tracker
    speaking = tracker.copy()
    speaking.update(SlotSet(LANGUAGE_SLOT, language))
    return speaking


def needs_acknowledgement(tracker: DialogueStateTracker) -> bool:
    """Paused, a real message (not a reminder's ``EXTERNAL_`` intent), and nothing said to the
    customer since the pause: neither the acknowledgement nor an agent's answer."""
    if not tracker.is_paused():
        return False
    intent = ((tracker.latest_message.intent or {}).get("name") or "") if tracker.latest_message else ""
    if intent.startswith("EXTERNAL_"):
        return False
    for event in reversed(tracker.events):
        if isinstance(event, ConversationPaused):
            return True
        if is_agent_message(event) or (
            isinstance(event, BotUttered) and _metadata(event).get("utter_action") == ACK_RESPONSE
        ):
            return False
    return True


def undelivered_console_messages(tracker: DialogueStateTracker) -> list[BotUttered]:
    """Console messages recorded between the customer's previous message and this one that no
    channel could push (REST), oldest first."""
    found: list[BotUttered] = []
    users = 0
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            users += 1
            if users == 2:
                break
            continue
        if users == 1 and isinstance(event, BotUttered):
            metadata = _metadata(event)
            if metadata.get("via") == VIA_CONSOLE and not metadata.get("delivered"):
                found.append(event)
    return found[::-1]


async def deliver_pending(tracker: DialogueStateTracker, output_channel: OutputChannel) -> None:
    """REST's next exchange: the undelivered console messages go first in this answer."""
    if not isinstance(output_channel, CollectingOutputChannel) or getattr(output_channel, _DELIVERED, False):
        return
    setattr(output_channel, _DELIVERED, True)  # slot mappings run again when a form starts this turn
    for event in undelivered_console_messages(tracker):
        metadata = _metadata(event)
        message = {"recipient_id": tracker.sender_id, "text": event.text, "from": metadata.get("from")}
        if metadata.get("agent"):
            message["agent"] = metadata["agent"]
        output_channel.messages.append(message)


async def relay_events(tracker: DialogueStateTracker, domain: Any, nlg: Any,
                       output_channel: OutputChannel) -> list[Event]:
    """The ``ticket_number`` slot's mapping: pending console messages, then the acknowledgement.

    Rasa 3.6 keeps only the ``SlotSet`` events of a slot mapping (``_execute_validation_action``
    drops the rest), so the acknowledgement is sent here and recorded on the turn's own tracker
    (the one ``handle_message`` saves at the end of the turn); no event is returned."""
    try:
        await deliver_pending(tracker, output_channel)
        if not needs_acknowledgement(tracker):
            return []
        draft = await nlg.generate(ACK_RESPONSE, speaking_tracker(tracker, domain), output_channel.name())
        if not draft:
            return []
        draft["utter_action"] = ACK_RESPONSE
        said = create_bot_utterance(draft)
        await output_channel.send_response(tracker.sender_id, said.message())
        tracker.update(said, domain)
    except Exception:  # noqa: BLE001 - never lose the customer's message over this
        logger.exception("handoff relay failed for a paused conversation")
    return []


async def session_start_events(output_channel: OutputChannel, nlg: Any, tracker: DialogueStateTracker,
                               domain: Any) -> list[Event]:
    """Rasa's default session start, paused again when the conversation was paused."""
    from rasa.core.actions.action import ActionSessionStart

    events = await ActionSessionStart().run(output_channel, nlg, tracker, domain)
    if tracker.is_paused():
        last = events[-1] if events else None
        at = len(events) - 1 if isinstance(last, ActionExecuted) else len(events)
        events.insert(at, ConversationPaused())
    return events
