"""Fixes to Rasa 3.6 itself, installed in the Rasa server process (``bot/__init__.py``).

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

A call that fails at the connection (refused, or a connection the server was just closing, seen
right after either server restarted) is retried once after 0.25 s before that: every write action
is idempotent (its idempotency key), so a call that did reach the server is not filed twice.

Unchanged: a 400 from the action server (``ActionExecutionRejection``) and failures of custom slot
mapping actions (already caught by ``action_extract_slots``; the ``language`` slot's own mapping runs
in-process, see 8) and of reminder (``EXTERNAL_*``) turns, which stay silent.

2. **Response checks.** Rasa validates every action-server response with ``jsonschema.validate``,
which first validates the (constant) schema itself against the metaschema: with jsonschema 4.17 that
is ~140 ms of CPU per custom action call on this machine, 3-5 calls per turn, most of the Rasa
server's CPU (profiled: 70 %). :func:`install` validates against a validator built once: same
schema, same error, ~10x less CPU. Each event is then checked against its own type's sub-schema
instead of all 23 of the schema's ``oneOf`` (equivalent, see ``_per_event_type_validation``).

3. **Event types.** ``Event.resolve_by_type`` walks every Event subclass for each event it
deserialises (tracker loads, action responses): ~0.15 ms per event, so a tracker of 100 events
costs 15 ms at every turn. The type name -> class lookup is cached (unknown names still go through
Rasa's own lookup).

4. **Action calls.** Every custom action call (3-5 per turn: slot mappings, form validations,
actions) sends the whole domain, rebuilt by ``Domain.as_dict()`` and JSON-encoded each time: 92 KB,
of which 86 KB are the responses in three languages, which the action server never reads (it names
responses, Rasa renders them). The domain sent is built once per model, without ``responses``.

5. **Placeholders that are not slots.** Rasa interpolates slot values into every response,
including button payloads such as ``/inform{"cancel_reason": "other"}``; ``{"cancel_reason": ...}``
is not a slot, so ``str.format`` raises, and Rasa logs the exception with its traceback and a deep
copy of the response, then returns the text unchanged: six times per "ask reason" question. The
same unchanged text is now returned without the exception.

6. **TED only when it can matter.** All policies predict every next action and the ensemble keeps
the most confident, the higher priority on a tie. When the RulePolicy (highest priority) is certain
(confidence 1.0, or a form's happy path, which overrules predictions based on user input) and its
action was not just rejected, TED (lowest priority, not end-to-end) cannot win, so its TensorFlow
inference (a quarter of the server's CPU) is skipped: same prediction, same events.

7. **Tracker saves.** Before inserting a turn's new events, ``SQLTrackerStore.save`` counts the
conversation's stored events with a query (sub-select of the latest session start, then a count):
a twentieth of the server's CPU per turn. The tracker the turn started from was loaded by that
store a moment before, under the conversation's lock, so the number of stored events is known: it
is remembered on the tracker object at ``retrieve`` and after each ``save``, and the query only
runs for a tracker the store did not load (a new conversation).

8. **The language slot.** The ``language`` slot's custom mapping (``action_detect_language``)
only copies the parse result's ``language`` into the slot, yet as a custom action it cost a call to
the action server on every message (a third of the calls). ``action_extract_slots`` now runs it
in-process (:func:`bot.components.language.language_slot_events`): same events, one round trip
less per turn, and the slot follows the user even while the action server is down.

9. **The handoff relay.** While an agent has a conversation (it is paused), the ``ticket_number``
slot's custom mapping ``action_handoff_relay`` acknowledges the customer's first message and
hands a REST client what the agent console recorded for it (:func:`bot.handoff.pause.relay_events`):
in-process like 8, since a slot mapping runs on every message. And when the custom
``action_session_start`` (it keeps a paused conversation paused across session expiry) cannot run
because the action server is down, Rasa's own session start runs instead, with the pause kept,
rather than the "service unavailable" answer of 1.

Installed by ``bot/__init__.py`` in any process where Rasa's message processor is loaded
(``rasa run`` / ``rasa shell``), never in the action server.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

RESPONSE = "utter_service_unavailable"
SESSION_START = "action_session_start"
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


RETRY_DELAY_S = 0.25


def _connection_failed(error: BaseException) -> bool:
    """Rasa's "Couldn't connect" error: the call failed at the connection (refused, or a connection
    the server was closing), not an answer from the action server."""
    import aiohttp

    return isinstance(error.__context__ or error.__cause__, aiohttp.ClientConnectionError)


def _cached_validation(remote_action_class: Any) -> Any:
    import jsonschema
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    schema = remote_action_class.action_response_format_spec()
    validator = jsonschema.validators.validator_for(schema)(schema)  # the schema is Rasa's own, checked once
    fast_valid = _per_event_type_validation(schema, type(validator))

    def _validate_action_result(self: Any, result: dict) -> bool:
        if fast_valid(result):
            return True
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


def _per_event_type_validation(schema: dict, validator_class: Any) -> Any:
    """A check equivalent to the response schema, without its 23-way ``oneOf`` per event.

    Each event must match exactly one of 23 sub-schemas, told apart by the constant of their
    ``event`` property: an event whose ``event`` is the string ``t`` fails every sub-schema but
    ``t``'s, so it is valid exactly when it matches the common part and ``t``'s sub-schema. Returns
    True only for a valid response; anything else goes to the full validator, for Rasa's error.
    """
    try:
        events = schema["properties"]["events"]
        item = dict(events["items"])
        alternatives = item.pop("oneOf")
        by_type = {alt["properties"]["event"]["const"]: validator_class({"allOf": [item, alt]})
                   for alt in alternatives}
    except (KeyError, TypeError):
        return lambda result: False  # another schema shape: always the full validator
    if len(by_type) != len(alternatives):
        return lambda result: False
    envelope = validator_class({**schema, "properties": {**schema["properties"], "events": {
        key: value for key, value in events.items() if key != "items"}}})

    def valid(result: Any) -> bool:
        if not envelope.is_valid(result):
            return False
        for event in (result.get("events") or []) if isinstance(result, dict) else []:
            kind = event.get("event") if isinstance(event, dict) else None
            check = by_type.get(kind) if isinstance(kind, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    return valid


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


# ------------------------------------------------------------------ 4. the domain action calls send

_action_domain: dict[str, Any] = {}


def domain_for_actions(domain: Any) -> dict[str, Any]:
    """``domain.as_dict()`` without the responses, built once per domain object."""
    if _action_domain.get("source") is not domain:
        full = domain.as_dict()
        full.pop("responses", None)
        _action_domain.update(source=domain, sent=full)
    return _action_domain["sent"]


def _slim_action_calls(remote_action_class: Any) -> None:
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker.current_state(EventVerbosity.ALL),
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain_for_actions(domain)
        return result

    remote_action_class._action_call_format = _action_call_format


# ------------------------------------------------------------------ 5. placeholders that are not slots

_PLACEHOLDER_RE = re.compile(r"{([^\n{}]+?)}")  # Rasa's own placeholder pattern (interpolator.py)


def _quiet_interpolation() -> None:
    from rasa.core.nlg import interpolator

    original = interpolator.interpolate_text

    def interpolate_text(response: Any, values: dict[str, Any]) -> Any:
        if isinstance(response, str) and any(key not in values for key in _PLACEHOLDER_RE.findall(response)):
            return response  # what Rasa returns after logging the KeyError
        return original(response, values)

    interpolator.interpolate_text = interpolate_text


# ------------------------------------------------------------------ 6. TED only when it can matter

_rule_cache: dict[str, Any] = {}


def _rule_prediction(rule: Any, original: Any, tracker: Any, domain: Any, **kwargs: Any) -> Any:
    """The RulePolicy's prediction for this tracker state, computed once for both callers (TED's
    check and the RulePolicy's own graph node, whichever runs first; events are only appended)."""
    count, last = len(tracker.events), (tracker.events[-1] if tracker.events else None)
    if (_rule_cache.get("rule") is rule and _rule_cache.get("tracker") is tracker
            and _rule_cache.get("count") == count and _rule_cache.get("last") is last):
        return _rule_cache["prediction"]
    prediction = original(rule, tracker, domain, **kwargs)
    _rule_cache.update(rule=rule, tracker=tracker, count=count, last=last, prediction=prediction)
    return prediction


def rule_is_decisive(prediction: Any, tracker: Any, domain: Any) -> bool:
    """True when no lower-priority policy can change the ensemble's choice (see ensemble.py)."""
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected

    if prediction is None or not prediction.probabilities:
        return False
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    last = next((e for e in reversed(tracker.events) if isinstance(e, (ActionExecutionRejected, ActionExecuted))), None)
    if isinstance(last, ActionExecutionRejected) and domain.action_names_or_texts[best] == last.action_name:
        return False  # the ensemble zeroes a rejected action: the others decide
    return bool(prediction.is_no_user_prediction) or prediction.probabilities[best] >= 1.0


def _rules_before_ted() -> None:
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.nlu.constants import TEXT

    rule_predict = RulePolicy.predict_action_probabilities
    ted_predict = TEDPolicy.predict_action_probabilities
    runner_init = DaskGraphRunner.__init__

    def link_policies(self: Any, *args: Any, **kwargs: Any) -> None:
        runner_init(self, *args, **kwargs)
        # Inference graphs load their components here (training graphs later: nothing linked).
        components = [getattr(node, "_component", None) for node in self._instantiated_nodes.values()]
        rules = [c for c in components if isinstance(c, RulePolicy)]
        for ted in (c for c in components if isinstance(c, TEDPolicy)):
            ted._decisive_rules = rules[0] if len(rules) == 1 else None
            if len(rules) == 1:
                rules[0]._shares_prediction = True

    # functools.wraps: Rasa validates graph components by their methods' signatures and type hints.
    @functools.wraps(rule_predict)
    def predict_rules(self: Any, tracker: Any, domain: Any, *args: Any, **kwargs: Any) -> Any:
        if args or not getattr(self, "_shares_prediction", False):
            return rule_predict(self, tracker, domain, *args, **kwargs)
        return _rule_prediction(self, rule_predict, tracker, domain, **kwargs)

    @functools.wraps(ted_predict)
    def predict_ted(self: Any, tracker: Any, domain: Any, **kwargs: Any) -> Any:
        rule = getattr(self, "_decisive_rules", None)
        if rule is not None and self.model is not None and TEXT not in (self.fake_features or {}):
            ruled = _rule_prediction(rule, rule_predict, tracker, domain, **{
                k: v for k, v in kwargs.items() if k in ("rule_only_data", "precomputations")})
            if rule_is_decisive(ruled, tracker, domain):
                return self._prediction(self._default_predictions(domain))
        return ted_predict(self, tracker, domain, **kwargs)

    DaskGraphRunner.__init__ = link_policies
    RulePolicy.predict_action_probabilities = predict_rules
    TEDPolicy.predict_action_probabilities = predict_ted


# ------------------------------------------------------------------ 7. tracker saves

_STORED = "_events_in_sql_store"


def _remember_stored_events() -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    retrieve, save, additional_events = (
        SQLTrackerStore.retrieve, SQLTrackerStore.save, SQLTrackerStore._additional_events)

    async def retrieve_remembering(self: Any, sender_id: str) -> Any:
        tracker = await retrieve(self, sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, (self, len(tracker.events)))
        return tracker

    def additional_events_known(self: Any, session: Any, tracker: Any) -> Any:
        known = getattr(tracker, _STORED, None)
        if known is None or known[0] is not self or known[1] > len(tracker.events):
            return additional_events(self, session, tracker)
        return itertools.islice(tracker.events, known[1], len(tracker.events))

    async def save_remembering(self: Any, tracker: Any) -> None:
        await save(self, tracker)
        setattr(tracker, _STORED, (self, len(tracker.events)))

    SQLTrackerStore.retrieve = retrieve_remembering
    SQLTrackerStore._additional_events = additional_events_known
    SQLTrackerStore.save = save_remembering


# ------------------------------------------------------------------ 8. the language slot


# Custom slot mappings run in this process: the language slot's (8) and the handoff relay (9).
IN_PROCESS_ACTIONS = ("action_detect_language", "action_handoff_relay")


def _local_slot_mappings() -> None:
    from rasa.core.actions.action import ActionExtractSlots

    from bot.components.language import SLOT_MAPPING_ACTION, language_slot_events
    from bot.handoff.pause import RELAY_ACTION, relay_events

    assert (SLOT_MAPPING_ACTION, RELAY_ACTION) == IN_PROCESS_ACTIONS
    run_custom_action = ActionExtractSlots._run_custom_action

    @functools.wraps(run_custom_action)
    async def run_locally(self: Any, custom_action: str, output_channel: Any, nlg: Any, tracker: Any,
                          domain: Any) -> list[Any]:
        if custom_action == SLOT_MAPPING_ACTION:
            return language_slot_events(tracker)
        if custom_action == RELAY_ACTION:
            return await relay_events(tracker, domain, nlg, output_channel)
        return await run_custom_action(self, custom_action, output_channel, nlg, tracker, domain)

    ActionExtractSlots._run_custom_action = run_locally


def install() -> None:
    """Patches Rasa once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    RemoteAction._validate_action_result = _cached_validation(RemoteAction)
    _cache_event_types()
    _slim_action_calls(RemoteAction)
    _quiet_interpolation()
    _rules_before_ted()
    _remember_stored_events()
    _local_slot_mappings()
    original = RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            try:
                return await original(self, output_channel, nlg, tracker, domain)
            except RasaException as error:
                if not _connection_failed(error):
                    raise
                logger.warning("custom action '%s': connection to the action server failed, retrying once",
                               self.name())
                await asyncio.sleep(RETRY_DELAY_S)
                return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException:
            if self.name() == SESSION_START:
                logger.error("custom action '%s' could not run: Rasa's own session start instead", SESSION_START)
                from bot.handoff.pause import session_start_events

                return await session_start_events(output_channel, nlg, tracker, domain)
            intent = ((tracker.latest_message.intent or {}).get("name") or "") if tracker.latest_message else ""
            if self.name() in _slot_mapping_actions(domain) or intent.startswith("EXTERNAL_"):
                raise
            logger.error("custom action '%s' could not run (action server unreachable or failing): "
                         "telling the user nothing was done", self.name())
            return await _failure_events(self, output_channel, nlg, tracker, domain)

    run.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction.run = run
    _installed = True
