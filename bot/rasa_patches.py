"""Three fixes to Rasa 3.6 itself, installed in the Rasa server process (``bot/__init__.py``).

1. **Failures.** A custom action that cannot run gets a clear answer instead of silence.

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
(``EXTERNAL_*``) turns, which stay silent.

2. **Response checks.** Rasa validates every action-server response with ``jsonschema.validate``,
which first validates the (constant) schema itself against the metaschema: with jsonschema 4.17 that
is ~140 ms of CPU per custom action call on this machine, 3-5 calls per turn, most of the Rasa
server's CPU (profiled: 70 %). :func:`install` validates against a validator built once: same
schema, same error, ~10x less CPU.

3. **Event types.** ``Event.resolve_by_type`` walks every Event subclass for each event it
deserialises (tracker loads, action responses): ~0.15 ms per event, so a tracker of 100 events
costs 15 ms at every turn. The type name -> class lookup is cached (unknown names still go through
Rasa's own lookup).

Installed by ``bot/__init__.py`` in any process where Rasa's message processor is loaded
(``rasa run`` / ``rasa shell``), never in the action server.
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


def _cached_validation(remote_action_class: Any) -> Any:
    import jsonschema
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    schema = remote_action_class.action_response_format_spec()
    validator = jsonschema.validators.validator_for(schema)(schema)  # the schema is Rasa's own, checked once

    def _validate_action_result(self: Any, result: dict) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the "
                f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    validator.check_schema(schema)
    return _validate_action_result


def _cache_event_types() -> None:
    from rasa.shared.core.events import Event

    lookup = Event.resolve_by_type
    known: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is None:
            found = lookup(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)


def install() -> None:
    """Patches ``RemoteAction`` once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    RemoteAction._validate_action_result = _cached_validation(RemoteAction)
    _cache_event_types()
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
