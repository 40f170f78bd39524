"""Where a refund is."""

from __future__ import annotations

from datetime import datetime

from .enums import (
    RefundStatus,
)
from .models import (
    Order,
)
from .projections import (
    pending_request,
    refund_view,
)
from .rules import Code
from .views import (
    Result,
)


class RefundsMixin:
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
