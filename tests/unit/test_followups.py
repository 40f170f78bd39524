"""Follow-ups that point at another order than the one just discussed ("and my other order?")."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions.skills.catalogue import names_another_order
from actions.skills.followups import another_order


def tracker(text: str, last_skill: str | None = "order_status", entities: list | None = None) -> Tracker:
    return Tracker(
        sender_id="t", slots={"last_skill": last_skill, "order_id": "8170087700000006"},
        latest_message={"text": text, "intent": {"name": "inform"}, "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


@pytest.mark.parametrize("text", ["and my other order?", "what about the second one", "et mon autre commande ?",
                                  "et l'autre cmd", "na oda yangu nyingine je?", "ile ingine?"])
def test_words_that_point_away_from_the_last_order(text):
    assert names_another_order(text)


@pytest.mark.parametrize("text", ["when will it arrive?", "elle arrive quand ?", "itafika lini?",
                                  "where is my order", "kitu kingine", ""])
def test_questions_about_the_same_order(text):
    assert not names_another_order(text)


def test_the_last_skill_starts_again_for_an_order_still_to_choose():
    events = another_order(tracker("et mon autre commande ?"))
    assert events[0] == SlotSet("order_id", None)
    assert events[-1] == FollowupAction("status_form")


def test_no_switch_without_a_previous_skill_or_with_a_number():
    assert another_order(tracker("and my other order?", last_skill=None)) is None
    number = [{"entity": "order_id", "value": "8170087700000003"}]
    assert another_order(tracker("and my other order 8170087700000003", entities=number)) is None
    assert another_order(tracker("when will it arrive?")) is None


def status_run(*texts: str) -> Tracker:
    """A status form being activated again after an answer: the user's messages in order."""
    events = [{"event": "user", "text": t, "parse_data": {"intent": {"name": "order_status"}}} for t in texts]
    return Tracker(
        sender_id="t", slots={"last_skill": "order_status", "order_id": "8170087700000006"},
        latest_message={"text": texts[-1], "intent": {"name": "order_status"}, "entities": []},
        events=events, paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


@pytest.mark.parametrize("texts, again", [
    (("where is my order 8170087700000006", "when will it arrive?"), False),  # about the order just shown
    (("where is my order?", "where is my order?"), True),  # the same request again: another order
    (("ou est ma commande", "Où est ma commande ?"), True),
    (("oda yangu iko wapi", "na oda yangu nyingine je?"), True),
])
def test_the_same_question_again_is_about_another_order_only_when_it_says_so(texts, again):
    from actions.skills.forms import ValidateStatusForm

    assert ValidateStatusForm().asked_again(status_run(*texts)) is again


def test_an_own_order_named_by_its_last_digits_or_its_item():
    from types import SimpleNamespace as Order

    from actions.skills.forms import pick_own_order
    orders = [Order(number="8170087700000003", first_item="Ultralight camping tent, 2 persons"),
              Order(number="8170087700000013", first_item="Silk scarf 90x90 cm, printed"),
              Order(number="8170087700000006", first_item="Silk scarf 90x90 cm, plain")]
    assert pick_own_order("the one ending in 0003", orders) == "8170087700000003"
    assert pick_own_order("la tente de camping", orders) == "8170087700000003"  # a word of the title
    assert pick_own_order("la robe rouge", orders) is None  # no word of any title
    assert pick_own_order("the camping tent", orders) == "8170087700000003"
    assert pick_own_order("the plain silk scarf", orders) == "8170087700000006"
    assert pick_own_order("the silk scarf", orders) is None  # two scarves: which one is not said
    assert pick_own_order("ending in 3", orders) is None  # too few digits to name one
    assert pick_own_order("the one ending in 9999", orders) is None


def test_a_no_about_the_order_number_is_not_a_stop():
    from actions.skills.catalogue import about_the_number
    for text in ("I don't have it", "no idea", "je l'ai pas", "je ne l’ai pas", "je sais pas", "sikumbuki", "sijui"):
        assert about_the_number(text), text
    for text in ("no", "no thanks", "non merci", "hapana", "non j'ai pas le temps", "forget it", "I dont want to"):
        assert not about_the_number(text), text


def test_forget_it_is_a_stop_in_french_too():
    from actions.skills.catalogue import about_the_number
    assert not about_the_number("oublie ça")
    assert not about_the_number("oublie")


def test_the_reason_in_the_request_that_opens_the_cancellation():
    import asyncio

    from rasa_sdk import Tracker

    from actions.skills.forms import ValidateCancelForm

    def extract(text: str, active: bool = False) -> dict:
        tracker = Tracker("t", {"cancel_reason": None, "requested_slot": "cancel_reason" if active else None},
                          {"text": text, "intent": {"name": "cancel_order"}, "entities": []}, [], False, None,
                          {"name": "cancel_form"} if active else {}, "action_listen")
        return asyncio.run(ValidateCancelForm().extract_cancel_reason(None, tracker, {}))

    assert extract("svp annulez ma cmd, g vu moins cher ailleurs") == {"cancel_reason": "found_cheaper"}
    assert extract("cancel my order from this seller") == {}  # names the seller, no complaint
    assert extract("cancel my order please") == {}
    assert extract("moins cher ailleurs", active=True) == {}  # an answer to the question: validated as such


def confirm(text: str, ranking: list[tuple[str, float]], confirmed: bool | None = None) -> dict:
    """What the cancellation form takes from ``text`` at "Shall I cancel ...?" (``extract_confirmed``)."""
    import asyncio

    from rasa_sdk import Tracker

    from actions.skills.forms import ValidateCancelForm

    message = {"text": text, "intent": {"name": ranking[0][0], "confidence": ranking[0][1]}, "entities": [],
               "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}
    tracker = Tracker("t", {"requested_slot": "confirmed", "confirmed": confirmed}, message, [], False, None,
                      {"name": "cancel_form"}, "action_listen")
    return asyncio.run(ValidateCancelForm().extract_confirmed(None, tracker, {}))


def test_a_refusal_at_the_confirmation_is_never_a_yes():
    # Read as the cancellation itself ("cancel ... again" is a yes) or as another skill: the words say no.
    assert confirm("non attendez, annulez rien, je change d'avis",
                   [("cancel_order", 0.53), ("deny", 0.46)]) == {"confirmed": False}
    assert confirm("nah don't cancel it after all, I'll keep it",
                   [("restore_order", 0.66), ("deny", 0.22), ("faq", 0.07)]) == {"confirmed": False}
    assert confirm("hapana usiighairi, nimebadilisha mawazo",
                   [("cancel_order", 0.6), ("deny", 0.3)]) == {"confirmed": False}
    # a yes the NLU read with a refusal it also sees is a no
    assert confirm("ok... no, don't do it", [("affirm", 0.5), ("deny", 0.45)], confirmed=True) == {"confirmed": False}
    # a refusal word with no "no" among the readings: not a yes either; the question stands
    assert confirm("don't wait, cancel it now", [("cancel_order", 0.9), ("affirm", 0.05), ("faq", 0.03)]) == {}


def test_what_refuses_the_proposal():
    from actions.skills.catalogue import refuses
    for text in ("nah don't cancel it after all", "please do not cancel it", "no wait, leave it",
                 "non attendez, annulez rien", "ne l'annulez pas", "pas besoin d'annuler", "non merci",
                 "hapana usighairi", "aah usiicancel nitaibakisha", "msiifute", "sitaki kuighairi", "wacha tu"):
        assert refuses(text), text
    # a negation that refuses nothing: not understanding, a hold-on before a question, a reason
    for text in ("sorry, I don't get it", "wait, where is it now?", "j'ai pas compris", "sijaelewa",
                 "ngoja kwanza, oda iko wapi sasa?", "I don't need it anymore, cancel it", "je n'en veux plus, annulez",
                 "sitaki tena, ighairi", "ndio, bado nataka kughairi", "usiku nilikosea", "yes cancel it",
                 "no problem, go ahead", "no probs cancel it", "no doubt, yes", "pas de souci", "hapana shida, endelea"):
        assert not refuses(text), text


def test_the_skill_asked_for_again_is_still_a_yes():
    assert confirm("yes cancel it", [("cancel_order", 0.8), ("affirm", 0.15)]) == {"confirmed": True}
    assert confirm("oui annulez-la", [("cancel_order", 0.7), ("affirm", 0.25)]) == {"confirmed": True}
    assert confirm("ndio, bado nataka kughairi", [("cancel_order", 0.7), ("affirm", 0.2)]) == {"confirmed": True}
    assert confirm("yes", [("affirm", 0.95), ("deny", 0.02)], confirmed=True) == {}  # the plain yes stands
    # the no of "no problem" is a yes
    assert confirm("no probs cancel it", [("cancel_order", 0.55), ("deny", 0.37)]) == {"confirmed": True}
    assert confirm("no doubt, yes", [("affirm", 0.74), ("deny", 0.24)], confirmed=True) == {}


def explain_tracker(events: list, language: str = "en", loop: dict | None = None, requested: str | None = None) -> Tracker:
    return Tracker("t", {"language": language, "requested_slot": requested},
                   {"text": "why?", "intent": {"name": "explain"}, "entities": []}, events, False, None,
                   loop or {}, "action_listen")


def bot(name: str, text: str = "", buttons: list | None = None) -> dict:
    return {"event": "bot", "text": text or name, "data": {"buttons": buttons or []}, "metadata": {"utter_action": name}}


def run_explain(tracker: Tracker) -> list[dict]:
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    from actions.skills.followups import ActionExplain
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionExplain().run(dispatcher, tracker, {})) == []
    return dispatcher.messages


def test_why_after_an_answer_says_the_answer_again_under_its_name_with_its_buttons():
    button = {"title": "Open a dispute", "payload": "/open_dispute"}
    events = [{"event": "slot", "name": "language", "value": "en"},
              bot("utter_refuse_cancel_shipped", "Order 817... has already been shipped", [button]),
              bot("utter_anything_else"), bot("utter_ask_what_to_do")]  # not answers: skipped
    said = run_explain(explain_tracker(events))
    assert said[0]["response"] == "utter_explain_again"
    assert said[1]["text"] == "Order 817... has already been shipped"
    assert said[1]["buttons"] == [button] and said[1]["utter_action"] == "utter_refuse_cancel_shipped"


def test_nothing_to_say_again_after_a_new_session_or_a_change_of_language():
    answer = bot("utter_status_shipped", "Your order has been shipped")
    fresh = [{"event": "slot", "name": "language", "value": "en"}, answer, {"event": "session_started"}]
    assert [m["response"] for m in run_explain(explain_tracker(fresh))] == ["utter_ask_what_to_do"]
    switched = [{"event": "slot", "name": "language", "value": "en"}, answer,
                {"event": "slot", "name": "language", "value": "fr"}]  # the English text is not said to a French speaker
    assert [m["response"] for m in run_explain(explain_tracker(switched, "fr"))] == ["utter_ask_what_to_do"]


def test_why_at_a_form_question_says_why_it_is_asked():
    said = run_explain(explain_tracker([], loop={"name": "cancel_form"}, requested="contact"))
    assert [m["response"] for m in said] == ["utter_why_contact"]
    assert run_explain(explain_tracker([], loop={"name": "cancel_form"}, requested="unknown_slot")) == []


def side_tracker(text: str, intent: str, confidence: float, topic: str | None = None,
                 ranking: list[tuple[str, float]] = ()) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
               "intent_ranking": [{"name": intent, "confidence": confidence}]
               + [{"name": n, "confidence": c} for n, c in ranking]}
    if topic:
        message["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}}
    return Tracker("t", {}, message, [], False, None, {"name": "dispute_form"}, "action_listen")


def test_a_question_at_the_dispute_description_is_answered_not_filed():
    from actions.skills.forms import side_question
    assert side_question(side_tracker("and when do I get refunded?", "refund_status", 0.77)) == "utter_refund_with_dispute"
    assert side_question(side_tracker("nitarudishiwa pesa lini", "refund_status", 0.9)) == "utter_refund_with_dispute"
    assert side_question(side_tracker("do I need photos?", "faq", 0.6, "dispute_evidence")) == "utter_faq/dispute_evidence"
    # what the buyer expects is the description: not a question about when
    assert side_question(side_tracker("can I get a full refund?", "refund_status", 0.9)) is None
    assert side_question(side_tracker("I want my money back, it broke", "refund_status", 0.9)) is None
    # a complaint, or a reading too unsure, is the description
    assert side_question(side_tracker("why is it broken already?", "open_dispute", 0.9)) is None
    assert side_question(side_tracker("is this normal?", "faq", 0.3, "dispute_evidence")) is None


def test_a_question_read_between_the_rules_and_the_bots_question_is_answered():
    # "what kind of proof do you need?" at the evidence question: half a question about the rules,
    # a third a question about the bot's question; either way not the evidence.
    from actions.skills.forms import side_question
    asked = side_tracker("what kind of proof do you need?", "faq", 0.46, "dispute_evidence",
                         [("explain", 0.32), ("out_of_scope", 0.2)])
    assert side_question(asked) == "utter_faq/dispute_evidence"
    # the rest of the doubt on an answer: still the evidence
    answer = side_tracker("photos of the box, is that ok?", "faq", 0.46, "dispute_evidence",
                          [("inform", 0.32), ("explain", 0.03)])
    assert side_question(answer) is None


def test_short_reason_keywords_are_whole_words():
    from actions.skills.forms import reason_from_text
    assert reason_from_text("cancel_reason", "annulez, c'est trop lent") == "delivery_too_slow"
    assert reason_from_text("cancel_reason", "excellent shop but please cancel") is None  # not "lent"
    assert reason_from_text("dispute_reason", "the latest update says nothing") is None  # not "late"
    assert reason_from_text("dispute_reason", "colis arrivé cassé") == "damaged"
    assert reason_from_text("cancel_reason", "nimebadilisha mawazo") == "no_longer_needed"  # a verb form


def test_another_order_read_as_out_of_scope_still_starts_the_last_skill():
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    from actions.skills.followups import ActionOutOfScope
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionOutOfScope().run(dispatcher, tracker("what about my other order?"), {}))
    assert dispatcher.messages == [] and events[-1] == FollowupAction("status_form")
    dispatcher = CollectingDispatcher()  # anything else out of scope gets the out-of-scope answer
    assert asyncio.run(ActionOutOfScope().run(dispatcher, tracker("what's the weather in Mombasa?"), {})) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]
    dispatcher = CollectingDispatcher()  # and so does "the other one" with no skill used yet
    assert asyncio.run(ActionOutOfScope().run(dispatcher, tracker("and the other one?", last_skill=None), {})) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]


def switch_tracker(text: str, intent: str, confidence: float, entities: list | None = None) -> Tracker:
    return Tracker(
        sender_id="t", slots={"requested_slot": "order_id"},
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence},
                        "entities": entities or [], "metadata": {}},
        events=[], paused=False, followup_action=None, active_loop={"name": "status_form"},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize("text, intent, confidence, entities, switches", [
    ("ni zile earphones za bluetooth", "open_dispute", 0.67, [], False),  # the item, to say which order
    ("the blue dress", "order_not_received", 0.7, [], False),
    ("earphones hazifanyi kazi", "open_dispute", 0.7, [{"entity": "dispute_reason", "value": "bad_quality"}], True),
    ("actually I want to open a dispute", "open_dispute", 0.92, [], True),  # a request, surely read
    ("en fait je veux l'annuler", "cancel_order", 0.7, [], True),  # any other skill: the usual bar
])
def test_at_which_order_an_item_named_is_not_a_complaint(text, intent, confidence, entities, switches):
    import asyncio

    from actions.skills.forms import ValidateStatusForm
    other = asyncio.run(ValidateStatusForm().other_skill(switch_tracker(text, intent, confidence, entities)))
    assert (other is not None) is switches


def said(text: str, entities: list | None = None, guess: dict | None = None) -> Tracker:
    """A message read as ``inform`` with nothing asked (no form active, no offer made)."""
    latest = {"text": text, "intent": {"name": "inform"}, "entities": entities or []}
    if guess:
        latest["reason_guess"] = guess
    return Tracker(sender_id="t", slots={}, latest_message=latest, events=[], paused=False,
                   followup_action=None, active_loop={}, latest_action_name="action_listen")


def followup(track: Tracker) -> tuple[list, list]:
    from rasa_sdk.executor import CollectingDispatcher

    from actions.skills.followups import ActionOrderFollowup

    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionOrderFollowup().run(dispatcher, track, {}))
    return events, [m.get("response") for m in dispatcher.messages]


def test_a_problem_stated_as_a_fact_starts_the_dispute_with_its_reason():
    # "ordered 12, got 8" read as an answer: a complaint all the same, its reason not asked again.
    events, said_back = followup(said("ordered 12 got 8", guess={"dispute_reason": "wrong_item"}))
    assert SlotSet("dispute_reason", "wrong_item") in events
    assert events[-1] == FollowupAction("dispute_form")
    assert said_back == []


def test_a_problem_with_an_order_number_starts_the_dispute_for_that_order():
    text = "8170087700000008 came smashed"
    entities = [{"entity": "order_id", "value": "8170087700000008"},
                {"entity": "dispute_reason", "value": "damaged"}]
    events, _ = followup(said(text, entities=entities))
    assert SlotSet("order_id", "8170087700000008") in events
    assert SlotSet("dispute_reason", "damaged") in events
    assert events[-1] == FollowupAction("dispute_form")


def test_nothing_came_starts_the_delivery_check():
    events, _ = followup(said("still nothing here", guess={"dispute_reason": "not_received"}))
    assert events[-1] == FollowupAction("delivery_form")


def test_a_cancellation_reason_alone_starts_nothing():
    events, said_back = followup(said("changed my mind", guess={"cancel_reason": "no_longer_needed"}))
    assert events == []
    assert said_back == ["utter_ask_what_to_do"]
