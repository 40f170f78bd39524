"""The seller's side, for the demo and the tests: not part of the buyer-facing service.

Sellers answer cancellation requests on their own platform; this assistant only sees the outcome.
The demo and the tests need a seller who answers, and this is it: the same transaction, lock and
audit as every write of :class:`~actions.orders.service.OrderService`.
"""

from __future__ import annotations

from .core import _Tx
from .enums import CancellationStatus, CancelledBy, OrderStatus
from .projections import refund_view
from .rules import Code
from .service import OrderService
from .views import Result


def seller_decides(service: OrderService, *, request_id: int, approve: bool, channel: str = "seller") -> Result:
    """The seller answers a cancellation request."""

    def work(tx: _Tx) -> Result:
        locked = service._lock_request(tx.session, request_id)
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
            refund = service._confirm_cancellation(tx, order, request, CancellationStatus.APPROVED)
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
            service._restore(order)
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

    return service._write(work, actor="seller", channel=channel)
