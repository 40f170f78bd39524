"""Reading a customer's orders (only their own: anyone else's is not found)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .contacts import (
    normalize_order_number,
)
from .models import (
    Order,
)
from .projections import (
    order_view,
)
from .views import (
    OrderSummary,
    OrderView,
)


class OrdersMixin:
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
