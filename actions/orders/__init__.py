"""Order service of the support assistant: customers, orders, cancellations, disputes, refunds,
support tickets and the 72 h cancellation deadline job.  No Rasa import: the actions call
:func:`get_service` and work with the plain values it returns."""

from __future__ import annotations

import threading

from .contacts import normalize_order_number, normalize_phone
from .db import database_url, make_engine, session_factory
from .enums import (
    CancellationReason,
    CancellationStatus,
    CancelledBy,
    DisputeReason,
    DisputeStatus,
    Language,
    OrderStatus,
    RefundStatus,
    TicketPriority,
    TicketStatus,
)
from .rules import Code, Decision
from .schema import migrate
from .service import OrderService
from .views import (
    CancellationView,
    CustomerView,
    DeadlineOutcome,
    DisputeView,
    IdentityView,
    ItemView,
    OrderSummary,
    OrderView,
    RefundView,
    Result,
    ShipmentView,
    TicketDetails,
    TicketView,
    TrackingEventView,
)

__all__ = [
    "CancellationReason",
    "CancellationStatus",
    "CancellationView",
    "CancelledBy",
    "Code",
    "CustomerView",
    "DeadlineOutcome",
    "Decision",
    "DisputeReason",
    "DisputeStatus",
    "DisputeView",
    "IdentityView",
    "ItemView",
    "Language",
    "OrderService",
    "OrderStatus",
    "OrderSummary",
    "OrderView",
    "RefundStatus",
    "RefundView",
    "Result",
    "ShipmentView",
    "TicketPriority",
    "TicketDetails",
    "TicketStatus",
    "TicketView",
    "TrackingEventView",
    "get_service",
    "migrate",
    "normalize_order_number",
    "normalize_phone",
]

_service: OrderService | None = None
_service_lock = threading.Lock()


def get_service() -> OrderService:
    """The process-wide service for ``DATABASE_URL``, migrating the schema on first use."""
    global _service
    with _service_lock:
        if _service is None:
            url = database_url()
            migrate(url)
            _service = OrderService(session_factory(make_engine(url)))
        return _service
