"""The domain is complete in three languages and matches what the actions use."""

import asyncio
import importlib
import inspect
import pkgutil
import re

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Action

import actions.skills
from tests.conftest import ROOT

LANGUAGES = {"en", "fr", "sw"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def variation_language(variation: dict) -> str:
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return condition["value"]
    return "en"  # the unconditioned variation is the English default


def test_every_response_has_english_french_and_swahili(domain):
    missing = {
        name: sorted(LANGUAGES - {variation_language(v) for v in variations})
        for name, variations in domain.responses.items()
    }
    assert {name: langs for name, langs in missing.items() if langs} == {}


def test_variations_share_placeholders_and_button_payloads(domain):
    for name, variations in domain.responses.items():
        placeholders = {tuple(sorted(PLACEHOLDER.findall(v.get("text", "")))) for v in variations}
        payloads = {tuple(b["payload"] for b in v.get("buttons", [])) for v in variations}
        assert len(placeholders) == 1, (name, placeholders)
        assert len(payloads) == 1, (name, payloads)


def skill_actions() -> dict[str, type]:
    found = {}
    for module in pkgutil.iter_modules(actions.skills.__path__):
        loaded = importlib.import_module(f"actions.skills.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == loaded.__name__ and not inspect.isabstract(cls):
                try:
                    found[cls().name()] = cls
                except NotImplementedError:
                    continue
    return found


def test_every_custom_action_in_the_domain_is_implemented(domain):
    from bot.rasa_ext.slot_mappings import IN_PROCESS_ACTIONS

    # by the action server, or (slot mappings: language, handoff relay) inside the Rasa server
    implemented = set(skill_actions()) | set(IN_PROCESS_ACTIONS)
    custom = {a for a in domain.user_actions if not a.startswith("utter_")}
    assert custom - implemented == set()


def test_every_response_the_actions_send_exists(domain):
    source = "\n".join(p.read_text() for p in (ROOT / "actions" / "skills").glob("*.py"))
    literal = set(re.findall(r'response="(utter_\w+)"', source))
    assert literal - set(domain.responses) == set()
    # Responses chosen by a computed name: utter_status_<status>, utter_offer_<skill>, ...
    from actions.skills.followups import FAQ_OFFERS

    computed = {f"utter_offer_{skill}" for skill in FAQ_OFFERS.values()}
    computed |= {f"utter_dispute_decided_{outcome}" for outcome in ("resolved_buyer", "resolved_seller")}
    computed |= {f"utter_status_{s}" for s in ("awaiting_payment", "payment_processing", "awaiting_shipment",
                                                 "shipped", "delivered", "completed")}
    computed |= {f"utter_status_cancelled_{who}" for who in ("buyer", "seller", "platform_fraud")}
    computed |= {f"utter_order_dispute_{s}" for s in ("open", "seller_responded", "escalated",
                                                        "resolved_buyer", "resolved_seller", "withdrawn")}
    assert computed - set(domain.responses) == set()


def test_every_faq_topic_in_the_data_has_an_answer(domain):
    from rasa.shared.nlu.training_data.loading import load_data

    topics = {ex.get("intent_response_key") for ex in load_data(str(ROOT / "data" / "nlu")).intent_examples
              if ex.get("intent") == "faq"}
    assert {f"utter_{t}" for t in topics} - set(domain.responses) == set()


def test_every_reason_code_has_an_explanation_in_three_languages(domain):
    """The refusal -> response mapping comes from the service's codes: each one is explained."""
    from actions.orders.rules import REFUSALS, SERVICE_REFUSALS
    from actions.skills.forms import refusal_response

    for code in REFUSALS | SERVICE_REFUSALS:
        name = refusal_response(code)
        assert name in domain.responses, (code, name)
        assert {variation_language(v) for v in domain.responses[name]} == LANGUAGES, name
    assert len({refusal_response(code) for code in REFUSALS}) == len(REFUSALS)  # one answer per rule


def test_button_payloads_render_without_an_interpolation_error(domain, monkeypatch):
    """Payloads carrying JSON use Rasa's documented doubled braces, so the interpolator renders them
    (and fills real placeholders) without raising and logging an exception."""
    from rasa.core.nlg import interpolator

    def no_exception(*args, **kwargs):
        raise AssertionError("Rasa logged an interpolation exception")

    monkeypatch.setattr(interpolator.structlogger, "exception", no_exception)
    tracker = DialogueStateTracker.from_events(
        "patch-test", [SlotSet("language", "fr"), SlotSet("order_id", "8170034500000003")], domain.slots)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    asked = asyncio.run(nlg.generate("utter_ask_cancel_reason", tracker, "rest"))
    assert '/inform{"cancel_reason": "no_longer_needed"}' in [b["payload"] for b in asked["buttons"]]
    confirm = asyncio.run(nlg.generate("utter_ask_cancel_form_confirmed", tracker, "rest"))
    assert "8170034500000003" in confirm["text"] and "{" not in confirm["text"]
    task = asyncio.run(nlg.generate("utter_ask_order_task", tracker, "rest", order_id="8170034500000007"))
    assert '/order_status{"order_id": "8170034500000007"}' in [b["payload"] for b in task["buttons"]]




def test_every_form_question_says_why_it_is_asked(domain):
    """ "Why?" at any question of any form gets why it is asked (action_explain), in a response that exists."""
    from actions.skills.followups import WHY_ASKED
    asked = {slot for form in domain.forms.values() for slot in form["required_slots"]}
    assert asked == set(WHY_ASKED)
    assert set(WHY_ASKED.values()) <= set(domain.responses)
