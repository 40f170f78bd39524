"""Cancelling an order (at once, or a request the seller has 72 h to answer) and resuming one."""

from __future__ import annotations

from datetime import datetime

from . import rules
from .contacts import (
    reference,
)
from .core import (
    _decision_result,
    _invalid,
    _Op,
    _parse_enum,
    _Tx,
)
from .enums import (
    CancellationReason,
    CancellationStatus,
    CancelledBy,
    OrderStatus,
)
from .models import (
    CancellationRequest,
    Order,
)
from .projections import (
    order_facts,
    pending_request,
)
from .rules import Code
from .views import (
    Result,
)


class CancellationsMixin:
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
