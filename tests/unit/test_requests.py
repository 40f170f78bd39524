"""A how-to question about one's own order is the request itself (bot/components/requests.py)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.requests import OwnOrderRequest


def parsed(text: str, topic: str) -> Message:
    return Message(data={
        "text": text,
        "intent": {"name": "faq", "confidence": 0.62},
        "intent_ranking": [{"name": "faq", "confidence": 0.62}, {"name": "cancel_order", "confidence": 0.3},
                           {"name": "open_dispute", "confidence": 0.05}],
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}},
    })


@pytest.mark.parametrize("text, topic, intent", [
    ("how do I cancel my order", "cancel_how", "cancel_order"),
    ("svp comment je fais pour annuler ma commande", "cancel_how", "cancel_order"),
    ("jinsi ya kughairi oda yangu", "cancel_how", "cancel_order"),
    ("jveux annuler, comment on fait", "cancel_how", "cancel_order"),  # SMS "je veux"
    ("how does one cancel an order?", "cancel_how", "faq"),            # the policy in general
    ("comment annuler une commande ?", "cancel_how", "faq"),
    ("what happens after I open a dispute on my order?", "dispute_process", "faq"),  # the process
    ("je veux ouvrir un litige, comment ça se passe ?", "dispute_process", "open_dispute"),
    ("how long do I have to cancel my order?", "cancel_time_limit", "faq"),  # not a how-to of a skill
    ("no idea what to do to cancel order 8170013540799673", "cancel_how", "cancel_order"),  # that order
    ("comment on annule la 8170 0135 4079 9673 ?", "cancel_how", "cancel_order"),
    ("jinsi ya kurudisha 8170013540799673", "restore_cancelled", "restore_order"),
    ("how does a dispute on 8170013540799673 work?", "dispute_process", "faq"),  # the process, still
])
def test_how_to_about_ones_own_order(text, topic, intent):
    message = parsed(text, topic)
    OwnOrderRequest().process([message])
    assert message.get("intent")["name"] == intent
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == intent
    if intent != "faq":  # the two swap confidences, so the fallback sees no tie
        assert ranking[0]["confidence"] == 0.62
        assert next(r for r in ranking if r["name"] == "faq")["confidence"] < 0.62


@pytest.mark.parametrize("text, intent", [
    ("so when will it get here?", "order_status"),  # asks when: about the order
    ("et elle arrive quand alors ?", "order_status"),
    ("itafika lini sasa?", "order_status"),
    ("so what do I do now?", "explain"),  # no "when": the bot's last answer again
    ("kwa nini?", "explain"),
])
def test_a_when_question_is_not_a_why(text, intent):
    from bot.components.explain import WhenIsNotWhy
    message = Message(data={"text": text, "intent": {"name": "explain", "confidence": 0.6},
                            "intent_ranking": [{"name": "explain", "confidence": 0.6},
                                               {"name": "order_status", "confidence": 0.3}]})
    WhenIsNotWhy().process([message])
    assert message.get("intent") == {"name": intent, "confidence": 0.6}  # no weak guess for the fallback
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": intent, "confidence": 0.6}
    if intent != "explain":  # the two swapped confidences
        assert ranking[1] == {"name": "explain", "confidence": 0.3}
