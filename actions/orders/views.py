"""Plain, frozen values returned by :class:`~actions.orders.service.OrderService`.

No ORM object ever leaves the service.  ``Result.data`` is always JSON-compatible (ISO 8601
strings for datetimes and dates, decimal strings for money) so it can go into a Rasa slot as
is, and so a result replayed from the idempotency table is identical to the first answer.
Views keep rich types (``datetime``, ``Decimal``); call ``to_dict()`` for a JSON-ready dict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def jsonable(value: Any) -> Any:
    """Recursively turn values into JSON-compatible ones (stable for equal inputs)."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    raise TypeError(f"not JSON-compatible: {value!r}")


class _Dict:
    def to_dict(self) -> dict[str, Any]:
        result = jsonable(self)
        assert isinstance(result, dict)
        return result


@dataclass(frozen=True)
class Result(_Dict):
    """Answer of every check / write.  ``code`` is a stable reason code (``rules.Code``)."""

    ok: bool
    code: str
    data: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False  # True: an equivalent write already happened; nothing new written

    @classmethod
    def of(cls, ok: bool, code: str, **data: Any) -> Result:
        return cls(ok=ok, code=code, data=jsonable(data))


@dataclass(frozen=True)
class IdentityView(_Dict):
    channel: str
    external_id: str


@dataclass(frozen=True)
class CustomerView(_Dict):
    id: int
    name: str
    email: str
    phone: str | None
    country: str | None
    preferred_language: str
    identities: tuple[IdentityView, ...] = ()
    locale: str | None = None  # CLDR locale for dates and amounts, e.g. fr_SN
    time_zone: str | None = None  # IANA time zone, e.g. Africa/Dakar


@dataclass(frozen=True)
class ItemView(_Dict):
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class TrackingEventView(_Dict):
    at: datetime
    location: str  # "City, CC"
    code: str  # enums.TrackingMilestone: what to tell the buyer, in their language
    description: str  # the carrier's own (English) wording: for agents, never shown to buyers


@dataclass(frozen=True)
class ShipmentView(_Dict):
    carrier: str
    tracking_number: str
    events: tuple[TrackingEventView, ...]  # newest first


@dataclass(frozen=True)
class CancellationView(_Dict):
    id: int
    reference: str  # C-000013: what the buyer quotes
    status: str
    reason: str
    requested_at: datetime
    deadline: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class DisputeView(_Dict):
    id: int
    reference: str  # D-000013: what the buyer quotes
    reason: str
    status: str
    description: str
    opened_at: datetime
    withdrawn_at: datetime | None
    resolved_at: datetime | None
    reopen_until: datetime | None  # set for a withdrawn dispute when computable


@dataclass(frozen=True)
class RefundView(_Dict):
    amount: Decimal
    currency: str
    status: str
    reason: str
    created_at: datetime
    completed_at: datetime | None
    expected_by: date | None


@dataclass(frozen=True)
class OrderSummary(_Dict):
    number: str
    status: str
    cancelled_by: str | None
    amount: Decimal
    currency: str
    created_at: datetime
    seller: str
    first_item: str
    item_count: int


@dataclass(frozen=True)
class OrderView(_Dict):
    number: str
    status: str
    cancelled_by: str | None
    # none | awaiting_seller (a cancellation request is pending) | confirmed (cancelled for good)
    cancellation_state: str
    amount: Decimal
    currency: str
    seller: str
    items: tuple[ItemView, ...]
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    estimated_delivery: datetime | None
    delivery_confirmed_at: datetime | None
    protection_end: datetime | None
    cancelled_at: datetime | None
    shipment: ShipmentView | None
    cancellation: CancellationView | None  # the pending request, else the latest one
    dispute: DisputeView | None  # the active dispute, else the latest one
    refund: RefundView | None
    # The owner's regional settings (Customer.locale / time_zone), to write this order's dates and
    # amounts as they read them; None: the default of the conversation's language.
    customer_locale: str | None = None
    customer_time_zone: str | None = None


@dataclass(frozen=True)
class TicketView(_Dict):
    number: str
    customer_id: int | None
    order_number: str | None
    language: str
    intent: str
    priority: str
    summary: str
    transcript: Any
    channel: str
    status: str
    created_at: datetime
    updated_at: datetime
    queue: str = "human"
    source: str = "chat"
    conversation_id: str | None = None
    source_message_id: str | None = None
    reply_to: str | None = None
    due_at: datetime | None = None
    agent: str | None = None
    first_response_at: datetime | None = None
    handed_back_at: datetime | None = None
    closed_at: datetime | None = None
    customer_name: str | None = None


@dataclass(frozen=True)
class TicketDetails(_Dict):
    """What an agent sees of a ticket: the ticket, its customer, and that customer's orders only."""

    ticket: TicketView
    customer: CustomerView | None
    order: OrderView | None  # the ticket's order (always the ticket's customer's own)
    recent_orders: tuple[OrderSummary, ...]


@dataclass(frozen=True)
class DeadlineOutcome(_Dict):
    """A cancellation the deadline job approved: enough to notify the buyer on their channels."""

    request_id: int
    order_number: str
    customer_id: int
    customer_name: str
    preferred_language: str
    identities: tuple[IdentityView, ...]
    decided_at: datetime
    refund: RefundView
    locale: str | None = None
    time_zone: str | None = None
