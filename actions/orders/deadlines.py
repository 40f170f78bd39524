"""The seller's 72 hours: the deadline job approves what the seller did not answer."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import rules
from .clock import as_utc
from .core import (
    DEADLINE_JOB_ACTOR,
    SYSTEM_CHANNEL,
    _Tx,
)
from .enums import (
    CancellationStatus,
    CancelledBy,
    OrderStatus,
    RefundReason,
    RefundStatus,
)
from .models import (
    CancellationRequest,
    Order,
    Refund,
)
from .projections import (
    identity_views,
    refund_view,
    request_facts,
)
from .views import (
    DeadlineOutcome,
)


class DeadlinesMixin:
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
