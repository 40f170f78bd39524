"""The order service: every read and write the assistant does on orders goes through here.

Guarantees
----------
* **Ownership.** ``customer_id`` is who is acting.  An order that exists but belongs to someone
  else is indistinguishable from a nonexistent one (``None`` / ``order_not_found``, same data).
* **One transaction per write**, with an ``audit_log`` row for every change.
* **Idempotency.** A write given an ``idempotency_key`` stores its answer; the same key again
  returns that answer with ``duplicate=True`` and writes nothing.  Independently of keys, the
  natural constraints (one pending cancellation request, one active dispute per order) make a
  second equivalent request return the existing row's id with ``duplicate=True``.
* **Race safety.** Writes lock the order row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  write transactions start with ``BEGIN IMMEDIATE``), the database's unique indexes back the
  rules up, and an ``IntegrityError`` makes the write start over and re-read the state.
* Only frozen dataclasses (:mod:`.views`) come out, never ORM objects.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from . import rules
from .clock import as_utc, utcnow
from .contacts import (
    looks_like_email,
    normalize_channel,
    normalize_email,
    normalize_external_id,
    normalize_order_number,
    parse_ticket_number,
    phone_candidates,
    reference,
    ticket_number,
)
from .db import WRITE_OPTIONS, SessionFactory
from .enums import (
    ACTIVE_TICKET_STATES,
    CancellationReason,
    CancellationStatus,
    CancelledBy,
    DisputeReason,
    DisputeStatus,
    Language,
    OrderStatus,
    RefundReason,
    RefundStatus,
    TicketPriority,
    TicketQueue,
    TicketSource,
    TicketStatus,
    values,
)
from .models import (
    AuditLog,
    CancellationRequest,
    ChannelIdentity,
    Customer,
    Dispute,
    DisputeEvent,
    IdempotencyKey,
    Order,
    Refund,
    Shipment,
    SupportTicket,
)
from .projections import (
    current_dispute,
    dispute_facts,
    identity_views,
    order_facts,
    order_view,
    pending_request,
    refund_view,
    reopen_until,
    request_facts,
    ticket_view,
)
from .rules import Code, Decision
from .views import (
    CustomerView,
    DeadlineOutcome,
    OrderSummary,
    OrderView,
    Result,
    TicketDetails,
    TicketView,
    jsonable,
)

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

DEADLINE_JOB_ACTOR = "system:deadline-job"
SYSTEM_CHANNEL = "system"
WRITE_ATTEMPTS = 5
_RETRYABLE_PGCODES = {"40001", "40P01"}  # serialization failure, deadlock detected


class _Op:
    """Operation names stored with idempotency keys (a key is only valid for its operation)."""

    REQUEST_CANCELLATION = "request_cancellation"
    RESUME_ORDER = "resume_order"
    OPEN_DISPUTE = "open_dispute"
    WITHDRAW_DISPUTE = "withdraw_dispute"
    OPEN_TICKET = "open_ticket"


def _storable_key(key: str) -> str:
    """Idempotency keys longer than the column are stored as their SHA-256."""
    return (
        key
        if len(key) <= IdempotencyKey.key.type.length
        else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    )


def _clip(text: str, column: Any) -> str:
    return text[: column.type.length]


def _customer_actor(customer_id: int | None) -> str:
    return f"customer:{customer_id}" if customer_id is not None else "anonymous"


def _parse_enum(enum_cls: type[E], raw: Any) -> E | None:
    try:
        return enum_cls(raw.value if isinstance(raw, Enum) else raw)
    except ValueError:
        return None


def _invalid(code: str, field: str, raw: Any, enum_cls: type[Enum]) -> Result:
    return Result.of(False, code, field=field, value=str(raw), allowed=values(enum_cls))


def _decision_result(decision: Decision, number: str, duplicate: bool = False, **extra: Any) -> Result:
    result = Result.of(decision.allowed, decision.code, order_number=number, **decision.facts, **extra)
    return dataclasses.replace(result, duplicate=duplicate)


def _not_found(number: str) -> Result:
    return Result.of(False, Code.ORDER_NOT_FOUND, order_number=number)


def _is_retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "pgcode", None) in _RETRYABLE_PGCODES


@dataclass(frozen=True)
class _Tx:
    """One write transaction: its session, its moment, who acts and through which channel."""

    session: Session
    now: datetime
    actor: str
    channel: str

    def acting_as(self, actor: str) -> _Tx:
        return dataclasses.replace(self, actor=actor)

    def audit(self, action: str, entity: str, entity_id: Any, details: dict[str, Any] | None = None) -> None:
        self.session.add(
            AuditLog(
                at=self.now,
                actor=self.actor,
                channel=self.channel,
                action=action,
                entity=entity,
                entity_id=str(entity_id),
                details=jsonable(details or {}),
            )
        )


_ORDER_DETAILS = (
    selectinload(Order.customer),
    selectinload(Order.seller),
    selectinload(Order.items),
    selectinload(Order.shipment).selectinload(Shipment.events),
    selectinload(Order.cancellation_requests),
    selectinload(Order.disputes),
    selectinload(Order.refund),
)


class OrderService:
    """See the module docstring.  All public methods take keyword arguments."""

    def __init__(self, session_factory: SessionFactory, clock: Callable[[], datetime] = utcnow):
        self._sessions = session_factory
        self._clock = clock

    def now(self) -> datetime:
        return as_utc(self._clock())

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _write(self, work: Callable[[_Tx], T], *, actor: str, channel: str, now: datetime | None = None) -> T:
        """Run ``work`` in one write transaction; start over when a constraint or lock race
        is lost, so the next attempt reads the winner's state."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._sessions() as session, session.begin():
                    session.connection(execution_options=WRITE_OPTIONS)
                    return work(_Tx(session, now or self.now(), actor, _clip(channel, AuditLog.channel)))
            except DBAPIError as exc:
                if attempt == WRITE_ATTEMPTS or not _is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _replay(
        session: Session, key: str, operation: str, customer_id: int | None, number: str | None
    ) -> Result | None:
        row = session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one_or_none()
        if row is None:
            return None
        if (row.operation, row.customer_id, row.order_number) != (operation, customer_id, number):
            return Result.of(False, Code.IDEMPOTENCY_KEY_CONFLICT, idempotency_key=key)
        stored = row.result
        return Result(ok=stored["ok"], code=stored["code"], data=stored["data"], duplicate=True)

    @staticmethod
    def _remember(
        tx: _Tx, key: str, operation: str, customer_id: int | None, number: str | None, result: Result
    ) -> None:
        tx.session.add(
            IdempotencyKey(
                key=key,
                operation=operation,
                customer_id=customer_id,
                order_number=number,
                result={"ok": result.ok, "code": result.code, "data": result.data},
                created_at=tx.now,
            )
        )
        tx.session.flush()

    def _keyed(
        self,
        tx: _Tx,
        *,
        key: str | None,
        operation: str,
        customer_id: int | None,
        number: str | None,
        apply: Callable[[], Result],
    ) -> Result:
        """Idempotency around ``apply``: replay the stored answer, or store the new one."""
        key = _storable_key(key) if key else None
        if key:
            replay = self._replay(tx.session, key, operation, customer_id, number)
            if replay is not None:
                return replay
        result = apply()
        if key and result.ok and not result.duplicate:
            self._remember(tx, key, operation, customer_id, number, result)
        return result

    @staticmethod
    def _owned_order(
        session: Session, number: str, customer_id: int, *, lock: bool = False, details: bool = False
    ) -> Order | None:
        """The order if it exists AND is this customer's; None in every other case."""
        stmt = select(Order).where(Order.number == number, Order.customer_id == customer_id)
        if lock:
            stmt = stmt.with_for_update()
        if details:
            stmt = stmt.options(*_ORDER_DETAILS)
        return session.execute(stmt).scalar_one_or_none()

    def _check(
        self, order_number: str, customer_id: int, evaluate: Callable[[Order, datetime], Result]
    ) -> Result:
        number = normalize_order_number(order_number)
        if number is None:
            return Result.of(False, Code.INVALID_ORDER_NUMBER, order_number=str(order_number))
        with self._read() as session:
            order = self._owned_order(session, number, customer_id, details=True)
            return _not_found(number) if order is None else evaluate(order, self.now())

    def _order_write(
        self,
        *,
        operation: str,
        order_number: str,
        customer_id: int,
        idempotency_key: str | None,
        channel: str,
        apply: Callable[[_Tx, Order], Result],
    ) -> Result:
        """A customer's write on one of their orders: lock it, replay or apply, remember."""
        number = normalize_order_number(order_number)
        if number is None:
            return Result.of(False, Code.INVALID_ORDER_NUMBER, order_number=str(order_number))

        def work(tx: _Tx) -> Result:
            order = self._owned_order(tx.session, number, customer_id, lock=True)
            if order is None:
                return _not_found(number)
            return self._keyed(
                tx,
                key=idempotency_key,
                operation=operation,
                customer_id=customer_id,
                number=number,
                apply=lambda: apply(tx, order),
            )

        return self._write(work, actor=_customer_actor(customer_id), channel=channel)

    # --- customers and identities -------------------------------------------------------

    def customer_for_identity(self, *, channel: str, external_id: str) -> int | None:
        channel = normalize_channel(channel)
        with self._read() as session:
            return session.execute(
                select(ChannelIdentity.customer_id).where(
                    ChannelIdentity.channel == channel,
                    ChannelIdentity.external_id == normalize_external_id(channel, external_id),
                )
            ).scalar_one_or_none()

    def link_identity(self, *, customer_id: int, channel: str, external_id: str) -> Result:
        """Remember that this chat account is this customer (after :meth:`verify_owner`)."""
        channel = normalize_channel(channel)
        external = normalize_external_id(channel, external_id)

        def work(tx: _Tx) -> Result:
            if tx.session.get(Customer, customer_id) is None:
                return Result.of(False, Code.CUSTOMER_NOT_FOUND)
            existing = tx.session.execute(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.external_id == external
                )
            ).scalar_one_or_none()
            if existing is not None:
                if existing.customer_id == customer_id:
                    return Result(True, Code.IDENTITY_ALREADY_LINKED, {"channel": channel}, True)
                return Result.of(False, Code.IDENTITY_LINKED_ELSEWHERE, channel=channel)
            identity = ChannelIdentity(
                customer_id=customer_id, channel=channel, external_id=external, created_at=tx.now
            )
            tx.session.add(identity)
            tx.session.flush()
            tx.audit("identity.linked", "channel_identity", identity.id, {"external_id": external})
            return Result.of(True, Code.IDENTITY_LINKED, channel=channel)

        return self._write(work, actor=_customer_actor(customer_id), channel=channel)

    def get_customer(self, *, customer_id: int) -> CustomerView | None:
        with self._read() as session:
            customer = session.execute(
                select(Customer).where(Customer.id == customer_id).options(selectinload(Customer.identities))
            ).scalar_one_or_none()
            if customer is None:
                return None
            return CustomerView(
                id=customer.id,
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                country=customer.country,
                preferred_language=customer.preferred_language.value,
                identities=identity_views(customer),
                locale=customer.locale,
                time_zone=customer.time_zone,
            )

    def verify_owner(self, *, order_number: str, contact: str) -> int | None:
        """The customer id when ``contact`` (e-mail, or phone in any usual format) is the
        contact of the customer who placed the order; otherwise None."""
        number = normalize_order_number(order_number)
        if number is None or not contact or not contact.strip():
            return None
        with self._read() as session:
            row = session.execute(
                select(Customer.id, Customer.email, Customer.phone, Customer.country)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.number == number)
            ).one_or_none()
        if row is None:
            return None
        if looks_like_email(contact):
            matches = normalize_email(contact) == row.email
        else:
            matches = row.phone is not None and row.phone in phone_candidates(contact, row.country)
        return row.id if matches else None

    # --- orders ---------------------------------------------------------------------------

    def get_order(self, *, order_number: str, customer_id: int) -> OrderView | None:
        number = normalize_order_number(order_number)
        if number is None:
            return None
        with self._read() as session:
            order = self._owned_order(session, number, customer_id, details=True)
            return None if order is None else order_view(order)

    def list_orders(self, *, customer_id: int, limit: int = 5) -> list[OrderSummary]:
        with self._read() as session:
            orders = session.execute(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(max(0, limit))
                .options(selectinload(Order.items), selectinload(Order.seller))
            ).scalars()
            return [
                OrderSummary(
                    number=o.number,
                    status=o.status.value,
                    cancelled_by=o.cancelled_by.value if o.cancelled_by else None,
                    amount=o.amount,
                    currency=o.currency,
                    created_at=o.created_at,
                    seller=o.seller.name,
                    first_item=o.items[0].title if o.items else "",
                    item_count=sum(i.quantity for i in o.items),
                )
                for o in orders
            ]

    # --- cancellation ---------------------------------------------------------------------

    @staticmethod
    def _evaluate_cancel(order: Order, now: datetime) -> Result:
        decision = rules.can_cancel(order_facts(order), now)
        pending = pending_request(order)
        if decision.code == Code.CANCEL_ALREADY_REQUESTED and pending is not None:
            found = {"request_id": pending.id, "reference": reference("cancellation", pending.id)}
            return _decision_result(decision, order.number, duplicate=True, **found)
        return _decision_result(decision, order.number)

    def check_cancellation(self, *, order_number: str, customer_id: int) -> Result:
        return self._check(order_number, customer_id, self._evaluate_cancel)

    def request_cancellation(
        self,
        *,
        order_number: str,
        customer_id: int,
        reason: str | CancellationReason = CancellationReason.NO_LONGER_NEEDED,
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Unpaid order: cancelled at once (``cancelled``).  Paid, not shipped: a request the
        seller must answer within 72 h (``cancellation_requested``, data: request_id, deadline)."""
        parsed = _parse_enum(CancellationReason, reason)
        if parsed is None:
            return _invalid(Code.INVALID_REASON, "reason", reason, CancellationReason)

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_cancel(order, tx.now)
            if not verdict.ok:
                return verdict
            if verdict.code == Code.CANCEL_IMMEDIATELY:
                order.previous_status = order.status
                order.status = OrderStatus.CANCELLED
                order.cancelled_by = CancelledBy.BUYER
                order.cancelled_at = tx.now
                tx.audit("order.cancelled", "order", order.number, {"reason": parsed})
                return Result.of(True, Code.CANCELLED, order_number=order.number, status=order.status)
            request = CancellationRequest(
                reason=parsed,
                status=CancellationStatus.PENDING_SELLER,
                requested_at=tx.now,
                seller_deadline=rules.cancellation_deadline(tx.now),
            )
            order.cancellation_requests.append(request)
            tx.session.flush()
            tx.audit(
                "cancellation.requested",
                "cancellation_request",
                request.id,
                {"order_number": order.number, "reason": parsed},
            )
            return Result.of(
                True,
                Code.CANCELLATION_REQUESTED,
                order_number=order.number,
                request_id=request.id,
                reference=reference("cancellation", request.id),
                deadline=request.seller_deadline,
                seller_hours=rules.SELLER_RESPONSE_HOURS,
            )

        return self._order_write(
            operation=_Op.REQUEST_CANCELLATION,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )

    # --- resuming a cancelled order -------------------------------------------------------

    @staticmethod
    def _evaluate_resume(order: Order, now: datetime) -> Result:
        return _decision_result(rules.can_resume(order_facts(order), now), order.number)

    def check_resume(self, *, order_number: str, customer_id: int) -> Result:
        return self._check(order_number, customer_id, self._evaluate_resume)

    def resume_order(
        self,
        *,
        order_number: str,
        customer_id: int,
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Withdraw the buyer's pending cancellation and put the order back where it was."""

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_resume(order, tx.now)
            if not verdict.ok:
                return verdict
            pending = pending_request(order)
            if pending is not None:
                pending.status = CancellationStatus.WITHDRAWN
                pending.decided_at = tx.now
            if order.status is OrderStatus.CANCELLED:
                self._restore(order)
            withdrawn = pending.id if pending is not None else None
            tx.audit(
                "order.resumed", "order", order.number, {"status": order.status, "request_id": withdrawn}
            )
            return Result.of(
                True,
                Code.RESUMED,
                order_number=order.number,
                status=order.status,
                withdrawn_request_id=withdrawn,
            )

        return self._order_write(
            operation=_Op.RESUME_ORDER,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )

    @staticmethod
    def _restore(order: Order) -> None:
        fallback = OrderStatus.AWAITING_SHIPMENT if order.paid_at else OrderStatus.PAYMENT_PROCESSING
        order.status = order.previous_status or fallback
        order.previous_status = None
        order.cancelled_by = None
        order.cancelled_at = None

    # --- disputes -------------------------------------------------------------------------

    @staticmethod
    def _evaluate_dispute(order: Order, now: datetime, reason: DisputeReason | None) -> Result:
        decision = rules.can_open_dispute(
            order_facts(order), [dispute_facts(d) for d in order.disputes], reason, now
        )
        current = current_dispute(order)
        if decision.code == Code.DISPUTE_ALREADY_OPEN and current is not None:
            same = current.reason is reason
            found = {"dispute_id": current.id, "reference": reference("dispute", current.id)}
            return _decision_result(decision, order.number, duplicate=same, **found)
        return _decision_result(decision, order.number)

    def check_dispute(self, *, order_number: str, customer_id: int, reason: str | None = None) -> Result:
        """``reason=None``: may a dispute be opened on this order at all (asked before the reason)."""
        parsed = None if reason is None else _parse_enum(DisputeReason, reason)
        if reason is not None and parsed is None:
            return _invalid(Code.INVALID_REASON, "reason", reason, DisputeReason)
        return self._check(order_number, customer_id, partial(self._evaluate_dispute, reason=parsed))

    def open_dispute(
        self,
        *,
        order_number: str,
        customer_id: int,
        reason: str | DisputeReason,
        description: str = "",
        evidence: Sequence[str] = (),
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Open (or, after a withdrawal, reopen) a dispute on a shipped order."""
        parsed = _parse_enum(DisputeReason, reason)
        if parsed is None:
            return _invalid(Code.INVALID_REASON, "reason", reason, DisputeReason)
        refs = [str(e) for e in evidence]

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_dispute(order, tx.now, parsed)
            if not verdict.ok:
                return verdict
            reopening = verdict.code == Code.DISPUTE_REOPEN
            kind = "reopened" if reopening else "opened"
            dispute = Dispute(
                reason=parsed,
                description=description,
                evidence=refs,
                status=DisputeStatus.OPEN,
                opened_at=tx.now,
                events=[DisputeEvent(at=tx.now, kind=kind, actor=tx.actor, note=description)],
            )
            order.disputes.append(dispute)
            tx.session.flush()
            tx.audit(
                f"dispute.{kind}",
                "dispute",
                dispute.id,
                {"order_number": order.number, "reason": parsed, "evidence": refs},
            )
            return Result.of(
                True,
                Code.DISPUTE_REOPENED if reopening else Code.DISPUTE_OPENED,
                order_number=order.number,
                dispute_id=dispute.id,
                reference=reference("dispute", dispute.id),
                reason=parsed,
                status=dispute.status,
            )

        return self._order_write(
            operation=_Op.OPEN_DISPUTE,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )

    @staticmethod
    def _evaluate_withdraw(order: Order, now: datetime) -> Result:
        current = current_dispute(order)
        decision = rules.can_withdraw_dispute(dispute_facts(current) if current is not None else None)
        extra: dict[str, Any] = {}
        if current is not None:
            extra["dispute_id"] = current.id
            extra["reference"] = reference("dispute", current.id)
        if decision.allowed:
            extra["reopen_until"] = reopen_until(order)
        return _decision_result(decision, order.number, **extra)

    def check_withdraw_dispute(self, *, order_number: str, customer_id: int) -> Result:
        return self._check(order_number, customer_id, self._evaluate_withdraw)

    def withdraw_dispute(
        self,
        *,
        order_number: str,
        customer_id: int,
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Cancel the open dispute.  ``data.reopen_until``: last moment to reopen it (or None)."""

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_withdraw(order, tx.now)
            if not verdict.ok:
                return verdict
            dispute = current_dispute(order)
            assert dispute is not None
            dispute.status = DisputeStatus.WITHDRAWN
            dispute.withdrawn_at = tx.now
            dispute.events.append(DisputeEvent(at=tx.now, kind="withdrawn", actor=tx.actor, note=""))
            tx.audit("dispute.withdrawn", "dispute", dispute.id, {"order_number": order.number})
            return Result.of(
                True,
                Code.DISPUTE_WITHDRAWN,
                order_number=order.number,
                dispute_id=dispute.id,
                reference=reference("dispute", dispute.id),
                reopen_until=reopen_until(order),
            )

        return self._order_write(
            operation=_Op.WITHDRAW_DISPUTE,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )

    # --- refunds --------------------------------------------------------------------------

    @staticmethod
    def _evaluate_refund(order: Order, now: datetime) -> Result:
        refund = order.refund
        if refund is None:
            pending = pending_request(order)
            return Result.of(
                True,
                Code.NO_REFUND,
                order_number=order.number,
                order_status=order.status,
                cancellation_deadline=pending.seller_deadline if pending is not None else None,
            )
        code = Code.REFUND_COMPLETED if refund.status is RefundStatus.COMPLETED else Code.REFUND_PENDING
        return Result.of(True, code, order_number=order.number, **refund_view(refund).to_dict())

    def refund_status(self, *, order_number: str, customer_id: int) -> Result:
        return self._check(order_number, customer_id, self._evaluate_refund)

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

    # --- seller side and the deadline job ---------------------------------------------------

    @staticmethod
    def _confirm_cancellation(
        tx: _Tx, order: Order, request: CancellationRequest, status: CancellationStatus
    ) -> Refund:
        """The cancellation takes effect: order cancelled by the buyer, refund on its way."""
        request.status = status
        request.decided_at = tx.now
        if order.status is not OrderStatus.CANCELLED:
            order.previous_status = order.status
            order.status = OrderStatus.CANCELLED
            order.cancelled_by = CancelledBy.BUYER
            order.cancelled_at = tx.now
        refund = order.refund
        if refund is None:
            refund = Refund(
                amount=order.amount,
                currency=order.currency,
                status=RefundStatus.PENDING,
                reason=RefundReason.CANCELLATION,
                created_at=tx.now,
                expected_by=rules.refund_expectation(tx.now).expected_by,
            )
            order.refund = refund
        tx.session.flush()
        tx.audit(
            f"cancellation.{status.value}",
            "cancellation_request",
            request.id,
            {"order_number": order.number, "refund_expected_by": refund.expected_by},
        )
        return refund

    @staticmethod
    def _lock_request(session: Session, request_id: int) -> tuple[Order, CancellationRequest] | None:
        """Lock the request's order row, then (re)read the request under that lock."""
        order_id = session.execute(
            select(CancellationRequest.order_id).where(CancellationRequest.id == request_id)
        ).scalar_one_or_none()
        if order_id is None:
            return None
        order = session.execute(select(Order).where(Order.id == order_id).with_for_update()).scalar_one()
        request = session.execute(
            select(CancellationRequest)
            .where(CancellationRequest.id == request_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        return order, request

    def seller_decides(self, *, request_id: int, approve: bool, channel: str = "seller") -> Result:
        """The seller answers a cancellation request (demo and tests)."""

        def work(tx: _Tx) -> Result:
            locked = self._lock_request(tx.session, request_id)
            if locked is None:
                return Result.of(False, Code.REQUEST_NOT_FOUND, request_id=request_id)
            order, request = locked
            if request.status is not CancellationStatus.PENDING_SELLER:
                return Result.of(
                    False,
                    Code.REQUEST_NOT_PENDING,
                    order_number=order.number,
                    request_id=request.id,
                    status=request.status,
                )
            tx = tx.acting_as(f"seller:{order.seller_id}")
            if approve:
                refund = self._confirm_cancellation(tx, order, request, CancellationStatus.APPROVED)
                return Result.of(
                    True,
                    Code.SELLER_APPROVED,
                    order_number=order.number,
                    request_id=request.id,
                    refund=refund_view(refund),
                )
            request.status = CancellationStatus.REJECTED
            request.decided_at = tx.now
            if order.status is OrderStatus.CANCELLED and order.cancelled_by is CancelledBy.BUYER:
                self._restore(order)
            tx.audit(
                "cancellation.rejected", "cancellation_request", request.id, {"order_number": order.number}
            )
            return Result.of(
                True,
                Code.SELLER_REJECTED,
                order_number=order.number,
                request_id=request.id,
                status=order.status,
            )

        return self._write(work, actor="seller", channel=channel)

    def process_deadlines(self, *, now: datetime | None = None) -> list[DeadlineOutcome]:
        """Approve every pending cancellation request whose 72 h deadline has passed: the order
        is cancelled (by the buyer) and a refund is created.  Each request is handled in its own
        transaction under the order lock, so concurrent or repeated runs approve it once."""
        moment = as_utc(now) if now is not None else self.now()
        with self._read() as session:
            due = session.execute(
                select(CancellationRequest.id)
                .where(
                    CancellationRequest.status == CancellationStatus.PENDING_SELLER,
                    CancellationRequest.seller_deadline <= moment,
                )
                .order_by(CancellationRequest.seller_deadline, CancellationRequest.id)
            ).scalars()
            request_ids = list(due)
        outcomes = []
        for request_id in request_ids:
            outcome = self._write(
                partial(self._auto_approve, request_id=request_id),
                actor=DEADLINE_JOB_ACTOR,
                channel=SYSTEM_CHANNEL,
                now=moment,
            )
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _auto_approve(self, tx: _Tx, *, request_id: int) -> DeadlineOutcome | None:
        locked = self._lock_request(tx.session, request_id)
        if locked is None:
            return None
        order, request = locked
        if not rules.deadline_outcome(request_facts(request), tx.now).allowed:
            return None  # already decided (another run, the seller, the buyer) or not due
        refund = self._confirm_cancellation(tx, order, request, CancellationStatus.AUTO_APPROVED)
        customer = order.customer
        return DeadlineOutcome(
            request_id=request.id,
            order_number=order.number,
            customer_id=customer.id,
            customer_name=customer.name,
            preferred_language=customer.preferred_language.value,
            identities=identity_views(customer),
            decided_at=tx.now,
            refund=refund_view(refund),
            locale=customer.locale,
            time_zone=customer.time_zone,
        )
