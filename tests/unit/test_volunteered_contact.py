"""An e-mail/phone typed before the order number is used for it once, and never one the bot asked for;
one typed right after "not found" is checked with the number just rejected."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.skills.forms import rejected_order_number, volunteered_contact

EMAIL = "oliver.smith@example.co.uk"


def user(text: str, contact: str | None = None) -> dict:
    entities = [{"entity": "contact", "value": contact}] if contact else []
    return {"event": "user", "text": text, "parse_data": {"entities": entities}}


def bot(response: str) -> dict:
    return {"event": "bot", "text": "...", "metadata": {"utter_action": response}}


def tracker(*events: dict) -> Tracker:
    return Tracker("t", {}, {}, list(events), False, None, {}, "action_listen")


def test_said_before_the_request_is_used():
    assert volunteered_contact(tracker(
        {"event": "session_started"}, user(f"my email is {EMAIL}", EMAIL), bot("utter_ask_what_to_do"),
        user("where is my order 8170087700000006"))) == EMAIL


def test_an_answer_to_the_contact_question_is_not_reused():
    assert volunteered_contact(tracker(
        user("where is my order"), bot("utter_ask_order_id"), user("8170087700000006"), bot("utter_ask_contact"),
        user("0799 999 999", "0799 999 999"), bot("utter_order_not_found"), bot("utter_ask_order_id"),
        user("8170087700000006"))) is None


def test_used_once_whether_it_matched_or_not():
    for outcome in ("utter_verified", "utter_order_not_found"):
        assert volunteered_contact(tracker(
            user(f"my email is {EMAIL}", EMAIL), bot("utter_ask_what_to_do"), user("where is 8170087700000006"),
            bot(outcome), user("and 8170087700000007"))) is None


def test_nothing_from_before_the_session_started():
    assert volunteered_contact(tracker(
        user(f"my email is {EMAIL}", EMAIL), bot("utter_ask_what_to_do"), {"event": "session_started"},
        user("where is my order 8170087700000006"))) is None


def slot(name: str, value: object) -> dict:
    return {"event": "slot", "name": name, "value": value}


def test_the_number_just_rejected_is_the_one_the_form_held():
    assert rejected_order_number(tracker(
        user("where is 8170087700000006"), slot("order_id", "8170087700000006"), bot("utter_ask_contact"),
        user("oliver@gmail.com", "oliver@gmail.com"), bot("utter_order_not_found"), slot("order_id", None),
        user(f"sorry it's {EMAIL}", EMAIL))) == "8170087700000006"


def test_the_number_typed_with_the_wrong_contact_is_the_one_rejected():
    typed = {"event": "user", "text": "8170087700000007 oliver@gmail.com", "parse_data": {"entities": [
        {"entity": "order_id", "value": "8170087700000007"}, {"entity": "contact", "value": "oliver@gmail.com"}]}}
    assert rejected_order_number(tracker(
        slot("order_id", "8170087700000006"), typed, bot("utter_order_not_found"), user(EMAIL, EMAIL),
    )) == "8170087700000007"


def test_nothing_was_rejected_unless_the_last_answer_said_so():
    assert rejected_order_number(tracker(
        slot("order_id", "8170087700000006"), user("oliver@gmail.com", "oliver@gmail.com"),
        bot("utter_order_not_found"), user("what?"), bot("utter_ask_order_id"), user(EMAIL, EMAIL))) is None
