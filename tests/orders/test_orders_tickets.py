"""Support tickets for the agent console, on SQLite and PostgreSQL: conversation, queue, SLA,
one active ticket per conversation, triage de-duplication, status transitions, agent answers,
what an agent may see of the customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from orders_test_helpers import NOW, Clock, audit_rows, count, customer_id, number
from sqlalchemy.orm import sessionmaker

from actions.orders import Code, OrderService
from actions.orders.models import SupportTicket

H = timedelta(hours=1)


@pytest.fixture
def amina(demo: OrderService) -> int:
    return customer_id(demo, "amina")


def chat_ticket(service: OrderService, customer: int | None, conversation: str, **extra) -> str:
    result = service.open_ticket(customer_id=customer, language="fr", intent=extra.pop("intent", "cancel_order"),
                                 conversation_id=conversation, channel="socketio", **extra)
    assert result.ok, result
    return result.data["ticket_number"]


def test_a_chat_ticket_knows_its_conversation_queue_and_due_time(demo: OrderService, amina: int) -> None:
    number_ = chat_ticket(demo, amina, "c0ffee", order_number=number("amina", "03"), priority="high")
    ticket = demo.get_ticket(number=number_)
    assert (ticket.conversation_id, ticket.channel, ticket.queue, ticket.source) == (
        "c0ffee", "socketio", "cancellations", "chat")
    assert ticket.due_at == NOW + 4 * H  # high: first answer within 4 hours
    assert ticket.customer_name == "Amina Diallo" and ticket.order_number == number("amina", "03")
    assert (ticket.agent, ticket.first_response_at, ticket.handed_back_at, ticket.closed_at) == (None,) * 4


def test_one_active_ticket_per_conversation(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    first = chat_ticket(demo, amina, "conv-1")
    again = demo.open_ticket(customer_id=amina, language="fr", intent="request_human", conversation_id="conv-1")
    assert (again.ok, again.code, again.duplicate, again.data["ticket_number"]) == (
        True, Code.TICKET_ALREADY_OPEN, True, first)
    assert count(sessions, SupportTicket) == 1
    assert demo.set_ticket_status(number=first, status="handed_back", actor="agent:sam").ok
    later = chat_ticket(demo, amina, "conv-1")  # handed back: a new request is a new ticket
    assert later != first


def test_triage_tickets_are_filed_once_per_message(demo: OrderService, sessions: sessionmaker) -> None:
    opened = [demo.open_ticket(customer_id=None, language="sw", intent="request_human", queue="human",
                               source="triage", source_message_id="email:m-1", reply_to="x@example.com",
                               channel="email", priority="urgent") for _ in range(2)]
    assert [r.duplicate for r in opened] == [False, True]
    assert opened[0].data["ticket_number"] == opened[1].data["ticket_number"]
    ticket = demo.get_ticket(number=opened[0].data["ticket_number"])
    assert (ticket.source, ticket.source_message_id, ticket.reply_to, ticket.conversation_id) == (
        "triage", "email:m-1", "x@example.com", None)
    assert ticket.due_at == NOW + H
    assert count(sessions, SupportTicket) == 1
    bad = demo.open_ticket(customer_id=None, language="en", intent="x", queue="nowhere")
    assert bad.code == Code.INVALID_VALUE and bad.data["field"] == "queue"


def test_queue_filters_and_order(demo: OrderService, clock: Clock, amina: int) -> None:
    low = chat_ticket(demo, amina, "a", priority="low", intent="refund_status")
    clock.advance(hours=1)
    urgent = chat_ticket(demo, None, "b", priority="urgent", intent="order_not_received")
    assert [t.number for t in demo.list_tickets()] == [urgent, low]  # due soonest first
    assert [t.number for t in demo.list_tickets(queue="refunds")] == [low]
    assert [t.number for t in demo.list_tickets(priority="urgent")] == [urgent]
    assert demo.list_tickets(language="sw") == [] and demo.list_tickets(queue="bogus") == []
    assert [t.number for t in demo.list_tickets(conversation_id="b")] == [urgent]
    demo.set_ticket_status(number=low, status="closed")
    assert [t.number for t in demo.list_tickets()] == [urgent]
    assert [t.number for t in demo.list_tickets(statuses=("closed",))] == [low]


def test_status_transitions_are_kept_and_audited(demo: OrderService, sessions: sessionmaker, clock: Clock,
                                                 amina: int) -> None:
    ticket = chat_ticket(demo, amina, "conv-2")
    clock.advance(hours=1)
    handed = demo.set_ticket_status(number=ticket, status="handed_back", actor="agent:sam", agent="Sam")
    assert (handed.ok, handed.code, handed.data["previous"]) == (True, Code.TICKET_STATUS_SET, "open")
    again = demo.set_ticket_status(number=ticket, status="handed_back", actor="agent:sam")
    assert (again.ok, again.code, again.duplicate) == (True, Code.TICKET_STATUS_UNCHANGED, True)
    reopen = demo.set_ticket_status(number=ticket, status="open")
    assert (reopen.ok, reopen.code) == (False, Code.TICKET_TRANSITION_NOT_ALLOWED)
    clock.advance(hours=1)
    assert demo.set_ticket_status(number=ticket, status="closed", actor="agent:lea").ok
    view = demo.get_ticket(number=ticket)
    assert (view.status, view.handed_back_at, view.closed_at, view.agent) == ("closed", NOW + H, NOW + 2 * H, "Sam")
    assert demo.set_ticket_status(number=ticket, status="in_progress").code == Code.TICKET_TRANSITION_NOT_ALLOWED
    rows = [(r.actor, r.action, r.details) for r in audit_rows(sessions) if r.entity == "support_ticket"]
    assert rows[-2:] == [("agent:sam", "ticket.status_set", {"from": "open", "to": "handed_back"}),
                         ("agent:lea", "ticket.status_set", {"from": "handed_back", "to": "closed"})]


def test_agent_answers_are_recorded_until_the_ticket_is_released(demo: OrderService, sessions: sessionmaker,
                                                                 clock: Clock, amina: int) -> None:
    ticket = chat_ticket(demo, amina, "conv-3", priority="urgent")
    clock.advance(minutes=20)
    first = demo.record_agent_reply(number=ticket, agent="Sam")
    assert (first.ok, first.data["first_response"], first.data["within_sla"]) == (True, True, True)
    clock.advance(hours=1)
    second = demo.record_agent_reply(number=ticket, agent="Lea")
    assert (second.ok, second.data["first_response"]) == (True, False)
    view = demo.get_ticket(number=ticket)
    assert (view.status, view.agent, view.first_response_at) == ("in_progress", "Lea", NOW + timedelta(minutes=20))
    assert [r.actor for r in audit_rows(sessions) if r.action == "ticket.agent_replied"] == ["agent:Sam", "agent:Lea"]
    demo.set_ticket_status(number=ticket, status="closed")
    late = demo.record_agent_reply(number=ticket, agent="Sam")
    assert (late.ok, late.code) == (False, Code.TICKET_NOT_ACTIVE)
    assert demo.record_agent_reply(number="T-999999", agent="Sam").code == Code.TICKET_NOT_FOUND


def test_details_show_only_the_tickets_own_customer(demo: OrderService, amina: int) -> None:
    wanjiku = customer_id(demo, "wanjiku")
    own = chat_ticket(demo, amina, "conv-4", order_number=number("amina", "07"))
    details = demo.ticket_details(number=own)
    assert details.customer.name == "Amina Diallo" and details.order.number == number("amina", "07")
    assert details.recent_orders and all(o.number.startswith("81700345") for o in details.recent_orders)
    # Someone else's order number is never linked, so never shown.
    foreign = chat_ticket(demo, wanjiku, "conv-5", order_number=number("amina", "07"))
    shown = demo.ticket_details(number=foreign)
    assert shown.order is None and all(o.number.startswith("81700512") for o in shown.recent_orders)
    anonymous = chat_ticket(demo, None, "conv-6", order_number=number("amina", "07"))
    nothing = demo.ticket_details(number=anonymous)
    assert (nothing.customer, nothing.order, nothing.recent_orders) == (None, None, ())
    assert demo.ticket_details(number="T-999999") is None
