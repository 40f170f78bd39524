"""Two custom slot mappings run in the Rasa server instead of calling the action server.

Why not a supported point: a custom slot mapping is, in Rasa 3.6, always a call to the action server
from ``ActionExtractSlots``, and it is the only hook that runs on every message, paused or not.

* ``action_detect_language`` (the ``language`` slot) only copies the parse result's ``language`` into
  the slot: in-process it saves a round trip per message, and the slot follows the user even while the
  action server is down (so "I can't reach the order system" is said in the user's language). The
  events are the ones the action would return (:func:`bot.components.language.language_slot_events`).
* ``action_handoff_relay`` (the ``ticket_number`` slot) runs while an agent has the conversation: one
  acknowledgement of the customer's first message, and a REST client's pending agent messages with its
  next exchange (:func:`bot.handoff.pause.relay_events`); Rasa drops anything but slot events from a
  slot mapping, so this has to happen where the mapping runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# Custom slot mappings this extension runs in the Rasa server (the action server does not have them).
IN_PROCESS_ACTIONS = ("action_detect_language", "action_handoff_relay")


def install() -> Callable[[], None]:
    from rasa.core.actions.action import ActionExtractSlots

    from bot.components.language import SLOT_MAPPING_ACTION, language_slot_events
    from bot.handoff.pause import RELAY_ACTION, relay_events

    assert (SLOT_MAPPING_ACTION, RELAY_ACTION) == IN_PROCESS_ACTIONS
    original = ActionExtractSlots._run_custom_action

    @functools.wraps(original)
    async def run_locally(self: Any, custom_action: str, output_channel: Any, nlg: Any, tracker: Any,
                          domain: Any) -> list[Any]:
        if custom_action == SLOT_MAPPING_ACTION:
            return language_slot_events(tracker)
        if custom_action == RELAY_ACTION:
            return await relay_events(tracker, domain, nlg, output_channel)
        return await original(self, custom_action, output_channel, nlg, tracker, domain)

    ActionExtractSlots._run_custom_action = run_locally

    def undo() -> None:
        ActionExtractSlots._run_custom_action = original

    return undo
