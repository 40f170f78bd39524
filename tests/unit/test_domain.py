"""The domain is complete in three languages and matches what the actions use."""

import importlib
import inspect
import pkgutil
import re

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Action

import actions.skills
from actions.orders.rules import Code
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
    from bot.rasa_patches import IN_PROCESS_ACTIONS

    # by the action server, or (slot mappings: language, handoff relay) inside the Rasa server
    implemented = set(skill_actions()) | set(IN_PROCESS_ACTIONS)
    custom = {a for a in domain.user_actions if not a.startswith("utter_")}
    assert custom - implemented == set()


def test_every_response_the_actions_send_exists(domain):
    source = "\n".join(p.read_text() for p in (ROOT / "actions" / "skills").glob("*.py"))
    literal = set(re.findall(r'response="(utter_\w+)"', source))
    assert literal - set(domain.responses) == set()
    # Responses chosen by a computed name: utter_refuse_<code>, utter_status_<status>, ...
    refusals = [
        Code.CANCEL_SHIPPED, Code.ALREADY_CANCELLED, Code.CANCEL_ALREADY_REQUESTED,
        Code.RESUME_SELLER_CONFIRMED, Code.RESUME_UNPAID_CANCELLED, Code.RESUME_PLATFORM_FRAUD,
        Code.RESUME_SELLER_CANCELLED, Code.NOT_CANCELLED, Code.DISPUTE_NOT_SHIPPED,
        Code.DISPUTE_ORDER_CANCELLED, Code.DISPUTE_PROTECTION_EXPIRED, Code.DISPUTE_ALREADY_OPEN,
        Code.DISPUTE_ALREADY_RESOLVED, Code.DISPUTE_REOPEN_WINDOW_CLOSED, Code.DISPUTE_TOO_EARLY,
        Code.DISPUTE_RESOLVED, Code.DISPUTE_ALREADY_WITHDRAWN, Code.NO_DISPUTE,
    ]
    computed = {f"utter_refuse_{code}" for code in refusals}
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
