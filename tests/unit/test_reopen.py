"""Asking to open a dispute again is never the withdrawal (bot/components/reopen.py)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.reopen import ReopenIsNotWithdrawal, asks_to_reopen, says_reopen


def parsed(text: str, ranking: list[tuple[str, float]], topic: str | None = "reopen_dispute") -> Message:
    data = {
        "text": text,
        "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
        "intent_ranking": [{"name": name, "confidence": confidence} for name, confidence in ranking],
    }
    if topic:
        data["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}}
    return Message(data=data)


def intent_after(message: Message) -> tuple[str, float]:
    ReopenIsNotWithdrawal().process([message])
    return message.get("intent")["name"], message.get("intent")["confidence"]


@pytest.mark.parametrize("text", [
    "can I reopen the dispute I withdrew?",
    "i closed my dispute by mistake, can i open it again",
    "re-open it please",
    "je peux rouvrir le litige que j'ai retiré ?",
    "j'ai fermé mon litige trop tôt, on peut le réouvrir ?",
    "est-ce que je peux ouvrir le litige à nouveau",
    "le litige que j'ai retiré, il peut être rouvert ?",
    "réouverture du litige possible ?",
    "naweza kufungua tena mgogoro niliouondoa?",
    "mgogoro niliofunga kimakosa unaweza kufunguliwa upya?",
    "nataka kureopen dispute yangu",
])
def test_open_again_is_a_reopen(text):
    assert says_reopen(text)


@pytest.mark.parametrize("text", [
    "withdraw my dispute please",
    "close the dispute again, the seller refunded me",  # closing twice is still closing
    "ferme mon litige, c'est réglé",
    "funga mgogoro tena",                               # funga: close
    "are you open on sundays",
    "dispute niliyofuta naweza kuirudisha?",           # no "again": left to the classifier
])
def test_other_words_are_not(text):
    assert not says_reopen(text)


def test_the_policy_answer_when_its_topic_is_the_reopening():
    message = parsed("naweza kufungua tena mgogoro niliouondoa?", [("cancel_dispute", 0.55), ("faq", 0.44)])
    assert intent_after(message) == ("faq", 0.55)  # with the confidence the withdrawal had


def test_the_dispute_skill_when_the_faq_topic_answers_something_else():
    message = parsed("can I open it again?", [("cancel_dispute", 0.6), ("faq", 0.3), ("open_dispute", 0.1)],
                     topic="withdraw_dispute_how")
    assert intent_after(message) == ("open_dispute", 0.6)


def test_a_request_to_reopen_is_the_dispute_skill():
    message = parsed("I closed my dispute by mistake, please reopen it",
                     [("cancel_dispute", 0.94), ("faq", 0.04), ("restore_order", 0.02)])
    assert intent_after(message) == ("open_dispute", 0.94)


def test_the_dispute_skill_when_nothing_else_was_ranked():
    message = parsed("reopen my dispute", [("cancel_dispute", 0.9), ("restore_order", 0.1)], topic=None)
    assert intent_after(message)[0] == "open_dispute"


@pytest.mark.parametrize("text, asked", [
    ("can I reopen the dispute I withdrew?", True),
    ("reopen my dispute, the phone broke again", True),             # opens with it
    ("naweza kufungua tena mgogoro niliouondoa?", True),
    ("I closed my dispute by mistake, please reopen it", True),      # a request
    ("j'ai fermé mon litige par erreur, merci de le rouvrir", True),
    ("nilifunga mgogoro kimakosa, tafadhali ufungue tena", True),
    ("withdraw my dispute, I can always open it again later", False),  # the withdrawal is asked for
    ("retirez mon litige, je le rouvrirai si besoin", False),
    ("ondoa mgogoro wangu, nitaufungua tena kama kuna shida", False),
])
def test_reopening_is_what_is_asked(text, asked):
    assert asks_to_reopen(text) is asked


@pytest.mark.parametrize("text, ranking", [
    ("withdraw my dispute, the parcel came", [("cancel_dispute", 0.8), ("faq", 0.2)]),  # no reopen
    ("retirez mon litige, je le rouvrirai si besoin", [("cancel_dispute", 0.69), ("faq", 0.31)]),
    ("can I reopen a dispute?", [("faq", 0.7), ("cancel_dispute", 0.3)]),           # not read as withdrawal
])
def test_left_alone(text, ranking):
    message = parsed(text, ranking)
    assert intent_after(message) == ranking[0]
