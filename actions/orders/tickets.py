"""Support tickets: the hand-over to a person, the agents' queue, their replies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import rules
from .contacts import (
    normalize_order_number,
    parse_ticket_number,
    ticket_number,
)
from .core import (
    _clip,
    _customer_actor,
    _invalid,
    _Op,
    _parse_enum,
    _Tx,
)
from .enums import (
    ACTIVE_TICKET_STATES,
    Language,
    TicketPriority,
    TicketQueue,
    TicketSource,
    TicketStatus,
)
from .models import (
    AuditLog,
    Customer,
    Order,
    SupportTicket,
)
from .projections import (
    ticket_view,
)
from .rules import Code
from .views import (
    OrderSummary,
    Result,
    TicketDetails,
    TicketView,
    jsonable,
)


class TicketsMixin:
    # --- support tickets ------------------------------------------------------------------

    def open_ticket(
        self,
        *,
        customer_id: int | None,
        language: str,
        intent: str,
        order_number: str | None = None,
        priority: str = TicketPriority.NORMAL.value,
        summary: str = "",
        transcript: Any = None,
        idempotency_key: str | None = None,
        channel: str = "unknown",
        conversation_id: str | None = None,
        queue: str | None = None,
        source: str = TicketSource.CHAT.value,
        source_message_id: str | None = None,
        reply_to: str | None = None,
    ) -> Result:
        """Hand the conversation to a human.  The order is linked only when it is the customer's
        own (an unknown or foreign number is simply not linked).  data: ticket_number, ...

        A conversation has at most one active (open / in progress) ticket and a triaged message
        at most one ticket: asking again returns the existing one with ``duplicate=True``
        (``ticket_already_open``). ``queue`` defaults to the intent's (:func:`rules.ticket_queue`);
        the first answer is due within the priority's SLA (``due_at``)."""
        parsed_language = _parse_enum(Language, language)
        if parsed_language is None:
            return _invalid(Code.INVALID_VALUE, "language", language, Language)
        parsed_priority = _parse_enum(TicketPriority, priority)
        if parsed_priority is None:
            return _invalid(Code.INVALID_VALUE, "priority", priority, TicketPriority)
        parsed_queue = rules.ticket_queue(intent) if queue is None else _parse_enum(TicketQueue, queue)
        if parsed_queue is None:
            return _invalid(Code.INVALID_VALUE, "queue", queue, TicketQueue)
        parsed_source = _parse_enum(TicketSource, source)
        if parsed_source is None:
            return _invalid(Code.INVALID_VALUE, "source", source, TicketSource)
        number = normalize_order_number(order_number) if order_number else None
        conversation = _clip(conversation_id, SupportTicket.conversation_id) if conversation_id else None
        message_id = _clip(source_message_id, SupportTicket.source_message_id) if source_message_id else None

        def existing(session: Session) -> Result | None:
            if message_id is not None:
                condition = SupportTicket.source_message_id == message_id
            elif conversation is not None:
                condition = (SupportTicket.conversation_id == conversation) & SupportTicket.status.in_(
                    ACTIVE_TICKET_STATES)
            else:
                return None
            ticket = session.execute(
                select(SupportTicket).where(condition).order_by(SupportTicket.id.desc()).limit(1)
            ).scalar_one_or_none()
            if ticket is None:
                return None
            return Result(True, Code.TICKET_ALREADY_OPEN, jsonable({
                "ticket_number": ticket_number(ticket.id), "priority": ticket.priority,
                "status": ticket.status, "order_linked": ticket.order_id is not None}), True)

        def apply(tx: _Tx) -> Result:
            session = tx.session
            already = existing(session)
            if already is not None:
                return already
            known = customer_id is not None and session.get(Customer, customer_id) is not None
            order = (
                self._owned_order(session, number, customer_id) if known and number and customer_id else None
            )
            ticket = SupportTicket(
                customer_id=customer_id if known else None,
                order_id=order.id if order is not None else None,
                language=parsed_language,
                intent=_clip(intent, SupportTicket.intent),
                priority=parsed_priority,
                summary=summary,
                transcript=transcript,
                channel=tx.channel,
                status=TicketStatus.OPEN,
                created_at=tx.now,
                updated_at=tx.now,
                queue=parsed_queue,
                source=parsed_source,
                conversation_id=conversation,
                source_message_id=message_id,
                reply_to=_clip(reply_to, SupportTicket.reply_to) if reply_to else None,
                due_at=rules.ticket_due(parsed_priority, tx.now),
            )
            session.add(ticket)
            session.flush()
            public_number = ticket_number(ticket.id)
            tx.audit(
                "ticket.opened",
                "support_ticket",
                public_number,
                {"intent": intent, "priority": parsed_priority, "order_number": number, "queue": parsed_queue,
                 "source": parsed_source, "conversation_id": conversation, "source_message_id": message_id},
            )
            return Result.of(
                True,
                Code.TICKET_OPENED,
                ticket_number=public_number,
                priority=parsed_priority,
                order_linked=order is not None,
                due_at=ticket.due_at,
            )

        def work(tx: _Tx) -> Result:
            return self._keyed(
                tx,
                key=idempotency_key,
                operation=_Op.OPEN_TICKET,
                customer_id=customer_id,
                number=number,
                apply=lambda: apply(tx),
            )

        return self._write(work, actor=_customer_actor(customer_id), channel=channel)

    @staticmethod
    def _ticket_rows(session: Session, *conditions: Any, limit: int | None = None) -> list[TicketView]:
        stmt = (
            select(SupportTicket, Order.number, Customer.name)
            .outerjoin(Order, Order.id == SupportTicket.order_id)
            .outerjoin(Customer, Customer.id == SupportTicket.customer_id)
            .where(*conditions)
            .order_by(SupportTicket.due_at, SupportTicket.id)
        )
        if limit is not None:
            stmt = stmt.limit(max(0, limit))
        return [ticket_view(ticket, order, name) for ticket, order, name in session.execute(stmt)]

    def get_ticket(self, *, number: str) -> TicketView | None:
        ticket_id = parse_ticket_number(number)
        if ticket_id is None:
            return None
        with self._read() as session:
            rows = self._ticket_rows(session, SupportTicket.id == ticket_id)
            return rows[0] if rows else None

    def list_tickets(
        self,
        *,
        statuses: Sequence[str] = (TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value),
        queue: str | None = None,
        language: str | None = None,
        priority: str | None = None,
        conversation_id: str | None = None,
        limit: int = 200,
    ) -> list[TicketView]:
        """The agents' queue: tickets in ``statuses``, the first answer due soonest first.
        Unknown filter values match nothing."""
        wanted = [parsed for s in statuses if (parsed := _parse_enum(TicketStatus, s)) is not None]
        conditions: list[Any] = [SupportTicket.status.in_(wanted)]
        for column, enum_cls, raw in ((SupportTicket.queue, TicketQueue, queue),
                                      (SupportTicket.language, Language, language),
                                      (SupportTicket.priority, TicketPriority, priority)):
            if raw:
                parsed = _parse_enum(enum_cls, raw)
                if parsed is None:
                    return []
                conditions.append(column == parsed)
        if conversation_id is not None:
            conditions.append(SupportTicket.conversation_id == conversation_id)
        with self._read() as session:
            return self._ticket_rows(session, *conditions, limit=limit)

    def ticket_details(self, *, number: str, recent_orders: int = 5) -> TicketDetails | None:
        """A ticket with its customer and that customer's orders, for the agent console. Order
        facts come only from the ticket's own customer (an anonymous ticket shows none)."""
        ticket = self.get_ticket(number=number)
        if ticket is None:
            return None
        customer = order = None
        orders: list[OrderSummary] = []
        if ticket.customer_id is not None:
            customer = self.get_customer(customer_id=ticket.customer_id)
            if ticket.order_number:
                order = self.get_order(order_number=ticket.order_number, customer_id=ticket.customer_id)
            orders = self.list_orders(customer_id=ticket.customer_id, limit=recent_orders)
        return TicketDetails(ticket=ticket, customer=customer, order=order, recent_orders=tuple(orders))

    def _ticket_write(self, number: str, change: Callable[[_Tx, SupportTicket], Result], *,
                      actor: str, channel: str) -> Result:
        """Lock the ticket row, apply ``change``, audit inside it."""
        ticket_id = parse_ticket_number(number)

        def work(tx: _Tx) -> Result:
            ticket = tx.session.get(SupportTicket, ticket_id, with_for_update=True) if ticket_id else None
            if ticket is None:
                return Result.of(False, Code.TICKET_NOT_FOUND, ticket_number=number)
            return change(tx, ticket)

        return self._write(work, actor=_clip(actor, AuditLog.actor), channel=channel)

    def set_ticket_status(
        self, *, number: str, status: str, actor: str = "support", channel: str = "support",
        agent: str | None = None,
    ) -> Result:
        """Support agents move tickets along (``handed_back`` returns the chat to the bot,
        ``closed`` ends the ticket for good). The moment of a hand-back or closing is kept;
        setting the current status again changes nothing (``ticket_status_unchanged``, duplicate)."""
        parsed = _parse_enum(TicketStatus, status)
        if parsed is None:
            return _invalid(Code.INVALID_VALUE, "status", status, TicketStatus)

        def change(tx: _Tx, ticket: SupportTicket) -> Result:
            public_number = ticket_number(ticket.id)
            decision = rules.can_set_ticket_status(ticket.status, parsed)
            if not decision.allowed or decision.code == Code.TICKET_STATUS_UNCHANGED:
                result = Result.of(decision.allowed, decision.code, ticket_number=public_number,
                                   status=ticket.status, conversation_id=ticket.conversation_id)
                return dataclasses.replace(result, duplicate=decision.allowed)
            previous = ticket.status
            ticket.status = parsed
            ticket.updated_at = tx.now
            if agent:
                ticket.agent = _clip(agent, SupportTicket.agent)
            if parsed is TicketStatus.HANDED_BACK:
                ticket.handed_back_at = tx.now
            elif parsed is TicketStatus.CLOSED:
                ticket.closed_at = tx.now
            tx.audit("ticket.status_set", "support_ticket", public_number, {"from": previous, "to": parsed})
            return Result.of(True, Code.TICKET_STATUS_SET, ticket_number=public_number, status=parsed,
                             previous=previous, conversation_id=ticket.conversation_id)

        return self._ticket_write(number, change, actor=actor, channel=channel)

    def record_agent_reply(self, *, number: str, agent: str, channel: str = "console") -> Result:
        """An agent answered an active ticket: it is in progress, and its first answer (for the
        SLA) and the agent are kept; every answer is audited. A handed-back or closed ticket is
        refused (``ticket_not_active``): the bot has the conversation again."""

        def change(tx: _Tx, ticket: SupportTicket) -> Result:
            public_number = ticket_number(ticket.id)
            if ticket.status not in ACTIVE_TICKET_STATES:
                return Result.of(False, Code.TICKET_NOT_ACTIVE, ticket_number=public_number, status=ticket.status)
            first = ticket.first_response_at is None
            if first:
                ticket.first_response_at = tx.now
            previous = ticket.status
            ticket.status = TicketStatus.IN_PROGRESS
            ticket.agent = _clip(agent, SupportTicket.agent)
            ticket.updated_at = tx.now
            tx.audit("ticket.agent_replied", "support_ticket", public_number,
                     {"agent": ticket.agent, "first_response": first, "from": previous})
            return Result.of(True, Code.TICKET_REPLY_RECORDED, ticket_number=public_number,
                             first_response=first, conversation_id=ticket.conversation_id,
                             within_sla=tx.now <= ticket.due_at if first else None)

        return self._ticket_write(number, change, actor=f"agent:{agent}", channel=channel)
