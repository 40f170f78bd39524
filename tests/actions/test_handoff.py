"""``action_handoff`` and ``action_session_start`` on a real (temporary, seeded) order database."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.skills.handoff import ActionHandoff, ActionSessionStart
from tests.actions.test_skills import OLIVER, factory, order, responses, run, service, tracker, verified

__all__ = ["factory", "service"]  # the fixtures, shared with test_skills


def test_the_ticket_knows_its_conversation_queue_and_urgency(service):
    number = order(OLIVER, 18)  # dispute escalated to platform mediation
    track = tracker({"order_id": number}, channel="telegram", sender="100003")  # Telegram says who it is
    track.events[0]["parse_data"] = {"intent": {"name": "cancel_dispute"}}
    messages, events = run(ActionHandoff(), track)
    assert responses(messages) == ["utter_handoff"]
    ticket = service.get_ticket(number=messages[0]["ticket_number"])
    assert (ticket.conversation_id, ticket.channel, ticket.queue, ticket.priority, ticket.order_number) == (
        "100003", "telegram", "disputes", "urgent", number)
    assert "dispute escalated" in ticket.summary and ticket.summary.startswith("Customer writing in English")
    assert any(e.get("event") == "pause" for e in events)

    # Asking again while the ticket is open gives the same ticket (and pauses again).
    again, _ = run(ActionHandoff(), track)
    assert again[0]["ticket_number"] == ticket.number
    assert len(service.list_tickets(conversation_id="100003")) == 1


def test_an_ordinary_request_is_not_urgent(service):
    messages, _ = run(ActionHandoff(), tracker({}, sender="conv-plain"))
    ticket = service.get_ticket(number=messages[0]["ticket_number"])
    assert (ticket.priority, ticket.queue, ticket.customer_id) == ("normal", "cancellations", None)


def session_tracker(paused: bool) -> Tracker:
    slots = {"language": "sw", "customer_id": verified(3), "contact": "verified", "confirmed": True,
             "order_id": "8170051200000003"}
    return Tracker("conv-2", slots, {}, [], paused, None, {}, "action_listen")


def test_a_new_session_keeps_the_pause_and_the_slots_but_not_who_was_verified():
    for paused in (True, False):
        events = run(ActionSessionStart(), session_tracker(paused))[1]
        kinds = [e["event"] for e in events]
        assert kinds[0] == "session_started" and kinds[-1] == "action"
        assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [("language", "sw"),
                                                                                   ("order_id", "8170051200000003")]
        assert ("pause" in kinds) is paused


def test_a_contact_given_with_the_request_is_told_the_agent_answers_in_the_chat(service):
    # "call me on 0712 345 678": agents only answer in the conversation, so no call may be expected
    track = tracker({}, sender="conv-callback")
    track.latest_message = {"intent": {"name": "request_human"},
                            "entities": [{"entity": "contact", "value": "0712 345 678"}]}
    messages, _ = run(ActionHandoff(), track)
    assert responses(messages) == ["utter_handoff", "utter_handoff_in_chat_only"]
    assert len(service.list_tickets(conversation_id="conv-callback")) == 1
