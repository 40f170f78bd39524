"""Rasa server side: a custom action that cannot run gets a clear answer instead of silence.

When the action server is down (or answers 5xx), Rasa 3.6 logs "Encountered an exception while
running action ...", drops the action's events and goes on predicting: inside a form it predicts
``action_listen``, so the user gets nothing at all (REST: ``[]``), and a "yes" typed meanwhile
stays in the ``confirmed`` slot, ready to be used by the next form run without being asked again.
No rule or response can react, because nothing about the failure reaches the tracker.

:func:`install` wraps ``RemoteAction.run`` (every custom action, form validation and "ask" action
goes through it) so that such a failure instead returns:

* ``utter_service_unavailable`` ("I can't reach our order system right now, so nothing was changed
  or filed. Please try again in a few minutes.") in the language of the user's message (the parse
  result's ``language``, since the action that copies it into the slot could not run either),
  at most once per user message;
* ``SlotSet(<slot>, None)`` for the values a form validation could not check (the form then asks
  for them again, so the conversation resumes at the same question once the server is back) and
  for ``confirmed`` (a "yes" given to something that did not happen is never reused).

Unchanged: a 400 from the action server (``ActionExecutionRejection``) and failures of custom slot
mappings (``action_detect_language``, already caught by ``action_extract_slots``) and of reminder
(``EXTERNAL_*``) turns, which stay silent. Installed by ``bot/__init__.py`` in any process where
Rasa's message processor is loaded (``rasa run`` / ``rasa shell``), never in the action server.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

RESPONSE = "utter_service_unavailable"
LANGUAGE_SLOT = "language"
RESET_ON_FAILURE = ("confirmed",)
_installed = False


def _slot_mapping_actions(domain: Any) -> set[str]:
    names = set()
    for slot in getattr(domain, "slots", []):
        for mapping in getattr(slot, "mappings", None) or []:
            if mapping.get("type") == "custom" and mapping.get("action"):
                names.add(mapping["action"])
    return names


def _said_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        event_type = getattr(event, "type_name", "")
        if event_type == "user":
            return False
        if event_type == "bot" and (getattr(event, "metadata", None) or {}).get("utter_action") == RESPONSE:
            return True
    return False


def _unvalidated_slots(tracker: Any) -> list[str]:
    """Slots a form validation was asked to check: the SlotSets after the form's ActionExecuted."""
    names: list[str] = []
    for event in reversed(tracker.events):
        event_type = getattr(event, "type_name", "")
        if event_type in ("action", "user"):
            break
        if event_type == "slot" and event.key != "requested_slot" and event.value is not None:
            names.append(event.key)
    return names


async def _failure_events(action: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.events import SlotSet

    events: list[Any] = []
    if not _said_this_turn(tracker) and RESPONSE in domain.responses:
        speaking = tracker
        language = (tracker.latest_message.parse_data or {}).get("language") if tracker.latest_message else None
        slot = next((s for s in domain.slots if s.name == LANGUAGE_SLOT), None)
        if language and slot is not None and language != tracker.get_slot(LANGUAGE_SLOT):
            speaking = tracker.copy()
            speaking.update(SlotSet(LANGUAGE_SLOT, language))
        draft = await nlg.generate(RESPONSE, speaking, output_channel.name())
        if draft:
            draft["utter_action"] = RESPONSE
            events.append(create_bot_utterance(draft))
    slots = _unvalidated_slots(tracker) if action.name().startswith("validate_") else []
    slots += [name for name in RESET_ON_FAILURE if tracker.get_slot(name) is not None and name not in slots]
    known = {slot.name for slot in domain.slots}
    events += [SlotSet(name, None) for name in slots if name in known]
    return events


def install() -> None:
    """Wraps ``RemoteAction.run`` once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException:
            intent = ((tracker.latest_message.intent or {}).get("name") or "") if tracker.latest_message else ""
            if self.name() in _slot_mapping_actions(domain) or intent.startswith("EXTERNAL_"):
                raise
            logger.error("custom action '%s' could not run (action server unreachable or failing): "
                         "telling the user nothing was done", self.name())
            return await _failure_events(self, output_channel, nlg, tracker, domain)

    run.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction.run = run
    _installed = True
