"""The ``language`` slot's custom mapping runs in the Rasa server, not on the action server.

Why not a supported point: a custom slot mapping is, in Rasa 3.6, always a call to the action
server from ``ActionExtractSlots``; this one only copies the parse result's ``language`` (from our
NLU component) into the slot, on every message. Made in-process it saves a round trip per message and
the slot follows the user even while the action server is down (so "I can't reach the order system"
is said in the user's language). The events are the ones the action would return
(:func:`bot.components.language.language_slot_events`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def install() -> Callable[[], None]:
    from rasa.core.actions.action import ActionExtractSlots

    from bot.components.language import SLOT_MAPPING_ACTION, language_slot_events

    original = ActionExtractSlots._run_custom_action

    @functools.wraps(original)
    async def run_locally(self: Any, custom_action: str, output_channel: Any, nlg: Any, tracker: Any,
                          domain: Any) -> list[Any]:
        if custom_action == SLOT_MAPPING_ACTION:
            return language_slot_events(tracker)
        return await original(self, custom_action, output_channel, nlg, tracker, domain)

    ActionExtractSlots._run_custom_action = run_locally

    def undo() -> None:
        ActionExtractSlots._run_custom_action = original

    return undo
