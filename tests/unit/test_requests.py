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
    # one order in mind without a possessive: a pronoun on the verb, "this order", "help me"
    ("I paid yesterday, how do I cancel it?", "cancel_how", "cancel_order"),
    ("j'ai commandé par erreur, comment l'annuler ?", "cancel_how", "cancel_order"),
    ("nimecancel kimakosa, mnaweza kuirestore?", "restore_cancelled", "restore_order"),
    ("how can I get this order back, cancelled it by accident", "restore_cancelled", "restore_order"),
    ("aidez-moi à retirer cette réclamation svp", "withdraw_dispute_how", "cancel_dispute"),
    ("nisaidie kuondoa mgogoro", "withdraw_dispute_how", "cancel_dispute"),
    ("oda hii naighairi aje?", "cancel_how", "cancel_order"),
    ("nitauondoaje mgogoro huu?", "withdraw_dispute_how", "cancel_dispute"),  # mgogoro: huu, -u-
    ("nawezaje kuuondoa?", "withdraw_dispute_how", "cancel_dispute"),
    ("mgogoro unaondolewaje?", "withdraw_dispute_how", "faq"),  # no one dispute in mind
    ("how do I cancel an order I already paid for?", "cancel_how", "faq"),  # still the policy
    # the order or dispute with a relative clause in the first person: that one
    ("comment faire pour annuler la commande que jai payé", "cancel_how", "cancel_order"),
    ("how do I close the dispute I opened?", "withdraw_dispute_how", "cancel_dispute"),
    ("comment retirer le litige que j'ai ouvert ?", "withdraw_dispute_how", "cancel_dispute"),
    ("comment annuler une commande que j'ai déjà payée ?", "cancel_how", "faq"),  # "une": the policy
    ("how do you cancel an order that has been paid?", "cancel_how", "faq"),
    ("nafanyaje kufuta order niliyolipia", "cancel_how", "faq"),  # no article to tell: the policy
    ("est-ce qu'on peut revenir sur une annulation ?", "restore_cancelled", "faq"),
    ("help me understand what happens in a dispute", "dispute_process", "faq"),  # a process question
    ("if someone cancels an order by mistake, can they get it back?", "restore_cancelled", "faq"),  # anyone's
    ("si on annule une commande par erreur, on peut la récupérer ?", "restore_cancelled", "faq"),
    ("mtu akighairi oda kimakosa anaweza kuirudisha?", "restore_cancelled", "faq"),
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


@pytest.mark.parametrize("text, read_as, intent", [
    ("ok merci, et elle arrive quand ?", "thank", "order_status"),  # a courtesy, then the question
    ("ok cool et c pour quand", "affirm", "order_status"),
    ("asante, itafika lini?", "thank", "order_status"),
    ("thanks! how long till it gets here?", "thank", "order_status"),  # a question with "how long"
    ("thanks, it took so long", "thank", "thank"),  # "long" in a remark asks nothing
    ("merci, ça a pris du temps", "thank", "thank"),
    ("ok thanks bye", "thank", "thank"),
    ("ndiyo", "affirm", "affirm"),
])
def test_a_when_question_after_a_courtesy_is_about_the_order(text, read_as, intent):
    from bot.components.explain import WhenIsNotWhy
    message = Message(data={"text": text, "intent": {"name": read_as, "confidence": 0.6},
                            "intent_ranking": [{"name": read_as, "confidence": 0.6},
                                               {"name": "goodbye", "confidence": 0.2},
                                               {"name": "order_status", "confidence": 0.15}]})
    WhenIsNotWhy().process([message])
    assert message.get("intent") == {"name": intent, "confidence": 0.6}
