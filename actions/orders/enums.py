"""Value sets shared by the pure rules, the ORM models and the service.

Every enum is a ``str`` subclass whose *value* is what the database stores and what
the bot receives; compare with ``.value`` (or the enum member), never with ``str()``.
"""

from __future__ import annotations

from enum import Enum


class OrderStatus(str, Enum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_PROCESSING = "payment_processing"
    AWAITING_SHIPMENT = "awaiting_shipment"  # paid; the seller has not shipped yet
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


PAID_NOT_SHIPPED = frozenset({OrderStatus.PAYMENT_PROCESSING, OrderStatus.AWAITING_SHIPMENT})
SHIPPED_STATES = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED})


class CancelledBy(str, Enum):
    BUYER = "buyer"
    SELLER = "seller"
    PLATFORM_FRAUD = "platform_fraud"


class CancellationReason(str, Enum):
    """Reason the buyer gives.  ``no_longer_needed`` is the one sellers accept most."""

    NO_LONGER_NEEDED = "no_longer_needed"
    WRONG_ITEM_ORDERED = "wrong_item_ordered"
    FOUND_CHEAPER = "found_cheaper"
    DELIVERY_TOO_SLOW = "delivery_too_slow"
    SELLER_ISSUE = "seller_issue"
    OTHER = "other"


class CancellationStatus(str, Enum):
    PENDING_SELLER = "pending_seller"
    APPROVED = "approved"
    REJECTED = "rejected"
    AUTO_APPROVED = "auto_approved"  # the seller let the 72 h deadline pass
    WITHDRAWN = "withdrawn"  # the buyer resumed the order


CANCELLATION_CONFIRMED = frozenset({CancellationStatus.APPROVED, CancellationStatus.AUTO_APPROVED})


class DisputeReason(str, Enum):
    NOT_RECEIVED = "not_received"
    BAD_QUALITY = "bad_quality"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_TRACKING = "wrong_tracking"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"


class DisputeStatus(str, Enum):
    OPEN = "open"
    SELLER_RESPONDED = "seller_responded"
    ESCALATED = "escalated"  # platform mediation
    RESOLVED_BUYER = "resolved_buyer"
    RESOLVED_SELLER = "resolved_seller"
    WITHDRAWN = "withdrawn"


ACTIVE_DISPUTE_STATES = frozenset(
    {DisputeStatus.OPEN, DisputeStatus.SELLER_RESPONDED, DisputeStatus.ESCALATED}
)
RESOLVED_DISPUTE_STATES = frozenset({DisputeStatus.RESOLVED_BUYER, DisputeStatus.RESOLVED_SELLER})


class TrackingMilestone(str, Enum):
    """What a carrier scan means, stored instead of the carrier's English wording so the bot can
    say it in the buyer's language (``bot/domain/glossary.yml``, labels ``milestone``)."""

    SHIPPED = "shipped"  # the seller handed the parcel to the carrier
    AT_SORTING_CENTER = "at_sorting_center"
    DEPARTED_ORIGIN = "departed_origin"
    ARRIVED_DESTINATION = "arrived_destination"
    CUSTOMS_CLEARED = "customs_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    IN_TRANSIT = "in_transit"  # any other scan: the parcel is moving


class RefundStatus(str, Enum):
    PENDING = "pending"
    COMPLETED = "completed"


class RefundReason(str, Enum):
    CANCELLATION = "cancellation"
    DISPUTE = "dispute"


class Language(str, Enum):
    EN = "en"
    FR = "fr"
    SW = "sw"


class TicketPriority(str, Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(str, Enum):
    OPEN = "open"  # waiting for an agent
    IN_PROGRESS = "in_progress"  # an agent has answered
    HANDED_BACK = "handed_back"  # the bot has the conversation again
    CLOSED = "closed"


ACTIVE_TICKET_STATES = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS})


class TicketQueue(str, Enum):
    """Where a ticket waits: by topic, or ``human`` when nobody could tell (or a person was asked for)."""

    CANCELLATIONS = "cancellations"
    DISPUTES = "disputes"
    DELIVERY = "delivery"
    REFUNDS = "refunds"
    OTHER = "other"
    HUMAN = "human"


class TicketSource(str, Enum):
    CHAT = "chat"  # a conversation handed over to an agent (it is paused until handed back)
    TRIAGE = "triage"  # a message triaged in bulk (e-mail, contact form): no conversation


def values(enum_cls: type[Enum]) -> list[str]:
    """The stored values of an enum, in declaration order."""
    return [member.value for member in enum_cls]
