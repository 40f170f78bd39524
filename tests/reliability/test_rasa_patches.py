"""bot/rasa_patches.py without servers: Rasa's RemoteAction against a closed port, in-process."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_patches
from tests.reliability.stack import ROOT, free_port


@pytest.fixture(scope="module")
def domain() -> Domain:
    rasa_patches.install()
    return Domain.load(str(ROOT / "bot" / "domain"))


def run(domain: Domain, action: str, events: list, url: str | None = None) -> list:
    endpoint = EndpointConfig(url or f"http://127.0.0.1:{free_port()}/webhook")  # nobody listens there
    tracker = DialogueStateTracker.from_events("patch-test", events, domain.slots)
    return asyncio.run(RemoteAction(action, endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain))


def said(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, BotUttered)]


def user(text: str, language: str, intent: str = "affirm") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0}, parse_data={"language": language})


def test_unreachable_validation_answers_in_the_message_language_and_discards_the_answer(domain):
    events = [SlotSet("language", "en"), ActionExecuted("action_listen"), user("oui", "fr"),
              SlotSet("confirmed", True), ActionExecuted("cancel_form"), SlotSet("confirmed", True)]
    result = run(domain, "validate_cancel_form", events)
    assert said(result) and said(result)[0].startswith("Désolé, je n'arrive pas à joindre")
    assert SlotSet("confirmed", None) in result


def test_said_once_per_message_and_a_stale_yes_is_dropped(domain):
    first = run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en"),
                                                SlotSet("confirmed", True)])
    assert len(said(first)) == 1 and SlotSet("confirmed", None) in first
    again = run(domain, "action_ask_order_id", [ActionExecuted("action_listen"), user("yes", "en"), *first])
    assert said(again) == []


def test_slot_mapping_actions_and_reminders_keep_rasas_behaviour(domain):
    from rasa.shared.exceptions import RasaException

    with pytest.raises(RasaException):
        run(domain, "action_detect_language", [ActionExecuted("action_listen"), user("hi", "en")])
    with pytest.raises(RasaException):
        run(domain, "action_cancellation_followup",
            [ActionExecuted("action_listen"), user("", "en", intent="EXTERNAL_cancellation_deadline")])


def test_rejections_still_propagate_and_responses_are_still_validated(domain, monkeypatch):
    from rasa.utils.endpoints import ClientResponseError as RasaClientResponseError

    async def reject(*args, **kwargs):
        raise RasaClientResponseError(400, "Bad Request", b'{"action_name": "x", "error": "no"}')

    monkeypatch.setattr(EndpointConfig, "request", reject)
    with pytest.raises(ActionExecutionRejection):
        run(domain, "validate_cancel_form", [ActionExecuted("action_listen"), user("yes", "en")])
    action = RemoteAction("x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(Exception, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "no such event"}]})


def test_event_types_are_cached_and_unknown_ones_still_rejected():
    rasa_patches.install()
    assert Event.resolve_by_type("slot") is SlotSet and Event.resolve_by_type("slot") is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")
