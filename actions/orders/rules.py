"""Business rules of the order service, as pure functions.

Nothing here touches a database: each function takes small frozen facts plus ``now`` and
returns a :class:`Decision` whose ``code`` is a stable reason code (see :class:`Code`) that the
bot turns into a sentence in the customer's language, using ``facts`` for the details.

Sources: the buyer guides in ``shared/guides`` (cancelling a paid order, resuming a cancelled
order, opening / withdrawing a dispute, claiming an order that did not arrive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from .clock import add_business_days, as_utc
from .enums import (
    ACTIVE_DISPUTE_STATES,
    PAID_NOT_SHIPPED,
    RESOLVED_DISPUTE_STATES,
    SHIPPED_STATES,
    CancellationStatus,
    CancelledBy,
    DisputeReason,
    DisputeStatus,
    OrderStatus,
    RefundStatus,
    TicketPriority,
    TicketQueue,
    TicketStatus,
)

SELLER_RESPONSE_HOURS = 72
SELLER_RESPONSE_WINDOW = timedelta(hours=SELLER_RESPONSE_HOURS)
DISPUTE_REOPEN_WINDOW = timedelta(days=15)
REFUND_MIN_BUSINESS_DAYS = 3
REFUND_MAX_BUSINESS_DAYS = 10
# What a buyer can still do once the parcel has left: a dispute, for any of the reasons
# ``open_dispute`` accepts (the guides name three; the dispute form offers all six).
POST_SHIPMENT_DISPUTE_REASONS = tuple(DisputeReason)


class Code:
    """Stable reason codes.  Rules return the first group, the service adds the second."""

    # can_cancel
    CANCEL_IMMEDIATELY = "cancel_immediately"
    REQUEST_SELLER = "request_seller"
    CANCEL_ALREADY_REQUESTED = "cancel_already_requested"
    CANCEL_SHIPPED = "cancel_shipped"
    ALREADY_CANCELLED = "already_cancelled"
    # can_resume
    RESUME = "resume"
    RESUME_SELLER_CONFIRMED = "resume_seller_confirmed"
    RESUME_UNPAID_CANCELLED = "resume_unpaid_cancelled"
    RESUME_PLATFORM_FRAUD = "resume_platform_fraud"
    RESUME_SELLER_CANCELLED = "resume_seller_cancelled"
    NOT_CANCELLED = "not_cancelled"
    # can_open_dispute
    DISPUTE_ALLOWED = "dispute_allowed"
    DISPUTE_REOPEN = "dispute_reopen"
    DISPUTE_NOT_SHIPPED = "dispute_not_shipped"
    DISPUTE_ORDER_CANCELLED = "dispute_order_cancelled"
    DISPUTE_PROTECTION_EXPIRED = "dispute_protection_expired"
    DISPUTE_ALREADY_OPEN = "dispute_already_open"
    DISPUTE_ALREADY_RESOLVED = "dispute_already_resolved"
    DISPUTE_REOPEN_WINDOW_CLOSED = "dispute_reopen_window_closed"
    DISPUTE_TOO_EARLY = "dispute_too_early"
    # can_withdraw_dispute
    WITHDRAW_ALLOWED = "withdraw_allowed"
    DISPUTE_RESOLVED = "dispute_resolved"
    DISPUTE_ALREADY_WITHDRAWN = "dispute_already_withdrawn"
    NO_DISPUTE = "no_dispute"
    # deadline_outcome
    AUTO_APPROVE = "auto_approve"
    AWAITING_SELLER = "awaiting_seller"
    REQUEST_NOT_PENDING = "request_not_pending"

    # --- service results -------------------------------------------------------------
    ORDER_NOT_FOUND = "order_not_found"  # unknown number OR someone else's order
    INVALID_ORDER_NUMBER = "invalid_order_number"
    INVALID_REASON = "invalid_reason"
    INVALID_VALUE = "invalid_value"
    IDEMPOTENCY_KEY_CONFLICT = "idempotency_key_conflict"
    CANCELLED = "cancelled"
    CANCELLATION_REQUESTED = "cancellation_requested"
    RESUMED = "resumed"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_REOPENED = "dispute_reopened"
    DISPUTE_WITHDRAWN = "dispute_withdrawn"
    REFUND_PENDING = "refund_pending"
    REFUND_COMPLETED = "refund_completed"
    NO_REFUND = "no_refund"
    TICKET_OPENED = "ticket_opened"
    TICKET_NOT_FOUND = "ticket_not_found"
    TICKET_STATUS_SET = "ticket_status_set"
    IDENTITY_LINKED = "identity_linked"
    IDENTITY_ALREADY_LINKED = "identity_already_linked"
    IDENTITY_LINKED_ELSEWHERE = "identity_linked_elsewhere"
    CUSTOMER_NOT_FOUND = "customer_not_found"
    REQUEST_NOT_FOUND = "request_not_found"
    SELLER_APPROVED = "seller_approved"
    SELLER_REJECTED = "seller_rejected"
    TICKET_ALREADY_OPEN = "ticket_already_open"  # the conversation already has an active ticket
    TICKET_STATUS_UNCHANGED = "ticket_status_unchanged"
    TICKET_TRANSITION_NOT_ALLOWED = "ticket_transition_not_allowed"
    TICKET_NOT_ACTIVE = "ticket_not_active"  # handed back or closed: nothing to answer any more
    TICKET_REPLY_RECORDED = "ticket_reply_recorded"


# Every code a rule refuses with: the bot explains each one to the user (utter_refuse_<code>).
REFUSALS = frozenset({
    Code.CANCEL_ALREADY_REQUESTED, Code.CANCEL_SHIPPED, Code.ALREADY_CANCELLED,
    Code.RESUME_SELLER_CONFIRMED, Code.RESUME_UNPAID_CANCELLED, Code.RESUME_PLATFORM_FRAUD,
    Code.RESUME_SELLER_CANCELLED, Code.NOT_CANCELLED,
    Code.DISPUTE_NOT_SHIPPED, Code.DISPUTE_ORDER_CANCELLED, Code.DISPUTE_PROTECTION_EXPIRED,
    Code.DISPUTE_ALREADY_OPEN, Code.DISPUTE_ALREADY_RESOLVED, Code.DISPUTE_REOPEN_WINDOW_CLOSED,
    Code.DISPUTE_TOO_EARLY,
    Code.DISPUTE_RESOLVED, Code.DISPUTE_ALREADY_WITHDRAWN, Code.NO_DISPUTE,
})
# Refusals of the service itself (the request, not the order's state, is the problem).
SERVICE_REFUSALS = frozenset({
    Code.ORDER_NOT_FOUND, Code.INVALID_ORDER_NUMBER, Code.INVALID_REASON, Code.INVALID_VALUE,
    Code.IDEMPOTENCY_KEY_CONFLICT,
})


@dataclass(frozen=True)
class Decision:
    """Outcome of a rule: ``allowed``, a stable ``code`` and the ``facts`` needed to explain it."""

    allowed: bool
    code: str
    facts: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def allow(cls, code: str, **facts: Any) -> Decision:
        return cls(True, code, MappingProxyType(facts))

    @classmethod
    def refuse(cls, code: str, **facts: Any) -> Decision:
        return cls(False, code, MappingProxyType(facts))


@dataclass(frozen=True)
class CancellationFacts:
    status: CancellationStatus
    requested_at: datetime
    seller_deadline: datetime


@dataclass(frozen=True)
class OrderFacts:
    status: OrderStatus
    cancelled_by: CancelledBy | None = None
    previous_status: OrderStatus | None = None  # status before a cancellation, for resuming
    pending_cancellation: CancellationFacts | None = None
    cancellation_confirmed: bool = False  # the seller (or the 72 h deadline) approved it
    refund_status: RefundStatus | None = None
    estimated_delivery: datetime | None = None
    delivery_confirmed_at: datetime | None = None
    protection_end: datetime | None = None


@dataclass(frozen=True)
class DisputeFacts:
    reason: DisputeReason
    status: DisputeStatus
    opened_at: datetime
    withdrawn_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class RefundExpectation:
    earliest: date
    expected_by: date


def _hours_left(deadline: datetime, now: datetime) -> int:
    return max(0, math.ceil((deadline - now).total_seconds() / 3600))


def _pending(order: OrderFacts) -> CancellationFacts | None:
    request = order.pending_cancellation
    if request is not None and request.status is CancellationStatus.PENDING_SELLER:
        return request
    return None


def can_cancel(order: OrderFacts, now: datetime) -> Decision:
    pending = _pending(order)
    if pending is not None:
        return Decision.refuse(
            Code.CANCEL_ALREADY_REQUESTED,
            deadline=pending.seller_deadline,
            hours_left=_hours_left(pending.seller_deadline, now),
        )
    if order.status is OrderStatus.CANCELLED:
        return Decision.refuse(Code.ALREADY_CANCELLED, cancelled_by=order.cancelled_by)
    if order.status is OrderStatus.AWAITING_PAYMENT:
        return Decision.allow(Code.CANCEL_IMMEDIATELY)
    if order.status in PAID_NOT_SHIPPED:
        return Decision.allow(
            Code.REQUEST_SELLER,
            seller_hours=SELLER_RESPONSE_HOURS,
            deadline=now + SELLER_RESPONSE_WINDOW,
        )
    return Decision.refuse(
        Code.CANCEL_SHIPPED,
        dispute_reasons=list(POST_SHIPMENT_DISPUTE_REASONS),
        protection_end=order.protection_end,
    )


def can_resume(order: OrderFacts, now: datetime) -> Decision:
    pending = _pending(order)
    if order.status is not OrderStatus.CANCELLED:
        if pending is not None:  # a cancellation request the seller has not answered yet
            return Decision.allow(Code.RESUME, restore_status=order.status, deadline=pending.seller_deadline)
        return Decision.refuse(Code.NOT_CANCELLED, status=order.status)
    if order.cancelled_by is CancelledBy.PLATFORM_FRAUD:
        return Decision.refuse(Code.RESUME_PLATFORM_FRAUD, refund_status=order.refund_status)
    if order.cancelled_by is CancelledBy.SELLER:
        return Decision.refuse(Code.RESUME_SELLER_CANCELLED, refund_status=order.refund_status)
    if pending is not None:  # "cancelled, awaiting seller confirmation": the resume link is active
        return Decision.allow(
            Code.RESUME, restore_status=order.previous_status, deadline=pending.seller_deadline
        )
    if (
        order.previous_status is OrderStatus.PAYMENT_PROCESSING
        and not order.cancellation_confirmed
        and order.refund_status is None
    ):
        return Decision.allow(Code.RESUME, restore_status=order.previous_status, deadline=None)
    if order.previous_status is OrderStatus.AWAITING_PAYMENT:
        return Decision.refuse(Code.RESUME_UNPAID_CANCELLED)  # nothing was paid: add to cart again
    return Decision.refuse(Code.RESUME_SELLER_CONFIRMED, refund_status=order.refund_status)


def reopen_deadline(
    delivery_confirmed_at: datetime | None, protection_end: datetime | None
) -> datetime | None:
    """Last moment a withdrawn dispute can be reopened: 15 days after the delivery was
    confirmed or, when it never was, 15 days after buyer protection expired."""
    start = delivery_confirmed_at if delivery_confirmed_at is not None else protection_end
    return None if start is None else start + DISPUTE_REOPEN_WINDOW


def can_open_dispute(
    order: OrderFacts, disputes: Iterable[DisputeFacts], reason: DisputeReason | None, now: datetime
) -> Decision:
    """``reason=None`` checks what does not depend on the reason, before the buyer has said what is
    wrong (a chat asks for the order first): the rules that need the reason (a resolved dispute on the
    same problem, not-received before the estimated date) are applied once it is known. An allowed
    check then carries ``resolved_reasons``, the problems that can no longer be disputed."""
    if order.status is OrderStatus.CANCELLED:
        return Decision.refuse(Code.DISPUTE_ORDER_CANCELLED, cancelled_by=order.cancelled_by)
    if order.status not in SHIPPED_STATES:
        return Decision.refuse(Code.DISPUTE_NOT_SHIPPED, status=order.status, suggest="cancel_order")
    history = list(disputes)
    for dispute in history:
        if dispute.status in ACTIVE_DISPUTE_STATES:
            return Decision.refuse(Code.DISPUTE_ALREADY_OPEN, reason=dispute.reason, status=dispute.status)
    resolved = [d for d in history if d.status in RESOLVED_DISPUTE_STATES]
    for dispute in resolved:
        if dispute.reason is reason:
            return Decision.refuse(Code.DISPUTE_ALREADY_RESOLVED, reason=reason, outcome=dispute.status)
    reopening = any(d.status is DisputeStatus.WITHDRAWN for d in history)
    reopen_until = reopen_deadline(order.delivery_confirmed_at, order.protection_end) if reopening else None
    if reopen_until is not None:
        if now > reopen_until:
            return Decision.refuse(Code.DISPUTE_REOPEN_WINDOW_CLOSED, reopen_until=reopen_until)
    elif order.protection_end is not None and now > order.protection_end:
        return Decision.refuse(Code.DISPUTE_PROTECTION_EXPIRED, protection_end=order.protection_end)
    if (
        reason is DisputeReason.NOT_RECEIVED
        and order.estimated_delivery is not None
        and now < order.estimated_delivery
    ):
        return Decision.refuse(Code.DISPUTE_TOO_EARLY, available_from=order.estimated_delivery)
    return Decision.allow(
        Code.DISPUTE_REOPEN if reopening else Code.DISPUTE_ALLOWED,
        reason=reason,
        protection_end=order.protection_end,
        reopen_until=reopen_until,
        resolved_reasons=[d.reason for d in resolved],
        resolved_outcome=resolved[-1].status if resolved else None,
    )


def can_withdraw_dispute(dispute: DisputeFacts | None) -> Decision:
    """``dispute`` is the order's current one: the active dispute if any, else the latest."""
    if dispute is None:
        return Decision.refuse(Code.NO_DISPUTE)
    if dispute.status in ACTIVE_DISPUTE_STATES:
        return Decision.allow(Code.WITHDRAW_ALLOWED, reason=dispute.reason, status=dispute.status)
    if dispute.status in RESOLVED_DISPUTE_STATES:
        return Decision.refuse(Code.DISPUTE_RESOLVED, reason=dispute.reason, outcome=dispute.status)
    return Decision.refuse(Code.DISPUTE_ALREADY_WITHDRAWN, withdrawn_at=dispute.withdrawn_at)


def deadline_outcome(request: CancellationFacts, now: datetime) -> Decision:
    """What the deadline job does with a cancellation request: the seller has 72 hours."""
    if request.status is not CancellationStatus.PENDING_SELLER:
        return Decision.refuse(Code.REQUEST_NOT_PENDING, status=request.status)
    if now >= request.seller_deadline:
        return Decision.allow(Code.AUTO_APPROVE, deadline=request.seller_deadline)
    return Decision.refuse(
        Code.AWAITING_SELLER,
        deadline=request.seller_deadline,
        hours_left=_hours_left(request.seller_deadline, now),
    )


def refund_expectation(
    approved_at: datetime,
    min_business_days: int = REFUND_MIN_BUSINESS_DAYS,
    max_business_days: int = REFUND_MAX_BUSINESS_DAYS,
) -> RefundExpectation:
    """A refund reaches the buyer a few business days after approval."""
    start = approved_at.date()
    return RefundExpectation(
        earliest=add_business_days(start, min_business_days),
        expected_by=add_business_days(start, max_business_days),
    )


def cancellation_deadline(requested_at: datetime) -> datetime:
    return requested_at + SELLER_RESPONSE_WINDOW


# --- support tickets -----------------------------------------------------------------------

# How long a ticket may wait for an agent's first answer, by priority.
TICKET_SLA = MappingProxyType({
    TicketPriority.URGENT: timedelta(hours=1),
    TicketPriority.HIGH: timedelta(hours=4),
    TicketPriority.NORMAL: timedelta(hours=24),
    TicketPriority.LOW: timedelta(hours=72),
})
QUEUE_BY_INTENT = MappingProxyType({
    "cancel_order": TicketQueue.CANCELLATIONS,
    "restore_order": TicketQueue.CANCELLATIONS,
    "open_dispute": TicketQueue.DISPUTES,
    "cancel_dispute": TicketQueue.DISPUTES,
    "order_status": TicketQueue.DELIVERY,
    "order_not_received": TicketQueue.DELIVERY,
    "refund_status": TicketQueue.REFUNDS,
    "request_human": TicketQueue.HUMAN,
})
# Where a ticket can go from each status; a closed ticket stays closed.
TICKET_TRANSITIONS = MappingProxyType({
    TicketStatus.OPEN: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.HANDED_BACK, TicketStatus.CLOSED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.HANDED_BACK, TicketStatus.CLOSED}),
    TicketStatus.HANDED_BACK: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
})
EXPIRY_WINDOW = timedelta(days=3)


def ticket_due(priority: TicketPriority, opened_at: datetime) -> datetime:
    """When the first answer is due (the SLA of the ticket's priority)."""
    return opened_at + TICKET_SLA[priority]


def ticket_queue(intent: str | None) -> TicketQueue:
    return QUEUE_BY_INTENT.get(intent or "", TicketQueue.OTHER)


def can_set_ticket_status(current: TicketStatus, new: TicketStatus) -> Decision:
    if new is current:
        return Decision.allow(Code.TICKET_STATUS_UNCHANGED, status=current)
    if new in TICKET_TRANSITIONS[current]:
        return Decision.allow(Code.TICKET_STATUS_SET, status=new)
    return Decision.refuse(Code.TICKET_TRANSITION_NOT_ALLOWED, status=current, requested=new)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def urgent_reasons(order: Any, now: datetime) -> list[str]:
    """Why an order (an :class:`~actions.orders.views.OrderView` of the customer's own) needs a
    person now; [] when nothing is about to go wrong. Used for a ticket's priority, by the bot's
    handoff and by bulk triage alike."""
    reasons = []
    now = _aware(now)
    soon = now + EXPIRY_WINDOW
    eta = _aware(order.estimated_delivery)
    if order.status == OrderStatus.SHIPPED and eta is not None and eta < now:
        reasons.append("delivery_overdue")
    dispute = order.dispute
    if dispute is not None and dispute.status == DisputeStatus.ESCALATED:
        reasons.append("dispute_escalated")
    protection_end = _aware(order.protection_end)
    if (
        order.status in {state.value for state in SHIPPED_STATES}
        and protection_end is not None
        and now <= protection_end <= soon
        and (dispute is None or dispute.status == DisputeStatus.WITHDRAWN)
    ):
        reasons.append("protection_ends_soon")
    if dispute is not None and dispute.status == DisputeStatus.WITHDRAWN:
        reopen_until = _aware(dispute.reopen_until)
        if reopen_until is not None and now <= reopen_until <= soon:
            reasons.append("dispute_reopen_window_ends_soon")
    return reasons
