"""SQLAlchemy 1.4 models (2.0 style: ``select()``, future engines and sessions, no Query API).

All datetimes are stored as UTC and come back timezone-aware (:class:`UTCDateTime`), on SQLite
as on PostgreSQL.  Enums are stored as short strings guarded by CHECK constraints (no native
PostgreSQL enum types, so migrations stay simple).  Invariants the service relies on are
enforced by the database too:

* at most one *pending* cancellation request per order (partial unique index);
* at most one *active* (open / seller_responded / escalated) dispute per order (partial unique index);
* at most one refund per order; unique order numbers, e-mails, channel identities, idempotency keys.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from .clock import as_utc
from .enums import (
    ACTIVE_DISPUTE_STATES,
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
    TrackingMilestone,
    values,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
metadata = Base.metadata


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Money(TypeDecorator):
    """NUMERIC(12, 2) returned as ``Decimal`` on every backend.

    SQLite has no decimal type: values travel as floats (exact enough for 12 digits) and are
    quantised back to cents, instead of SQLAlchemy's lossy-conversion warning on each query."""

    impl = sa.Numeric(12, 2)
    cache_ok = True
    _CENTS = Decimal("0.01")

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(12, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(self._CENTS)
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(repr(value) if isinstance(value, float) else value).quantize(self._CENTS)


def _enum(enum_cls: type[Enum], name: str) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=values,
        validate_strings=True,
    )


def _fk(target: str, ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete)


MONEY = Money()
_ACTIVE_DISPUTES_SQL = "status IN ({})".format(
    ", ".join(f"'{s.value}'" for s in sorted(ACTIVE_DISPUTE_STATES, key=lambda s: s.value))
)
_PENDING_REQUEST_SQL = f"status = '{CancellationStatus.PENDING_SELLER.value}'"


class Customer(Base):
    __tablename__ = "customers"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(120), nullable=False)
    email = sa.Column(sa.String(254), nullable=False, unique=True)  # stored lower-case
    phone = sa.Column(sa.String(16), unique=True)  # E.164, e.g. +254712345678
    country = sa.Column(sa.String(2))  # ISO 3166 alpha-2: how local phone numbers are read
    preferred_language = sa.Column(_enum(Language, "language"), nullable=False, default=Language.EN)
    # Regional settings dates and amounts are written in: a CLDR locale (``fr_SN``) and an IANA
    # time zone (``Africa/Dakar``); None: the bot's default for the conversation's language.
    locale = sa.Column(sa.String(16))
    time_zone = sa.Column(sa.String(64))
    created_at = sa.Column(UTCDateTime, nullable=False)

    identities = relationship("ChannelIdentity", back_populates="customer", passive_deletes=True)
    orders = relationship("Order", back_populates="customer", passive_deletes=True)


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    customer_id = sa.Column(sa.Integer, _fk("customers.id"), nullable=False, index=True)
    channel = sa.Column(sa.String(32), nullable=False)
    external_id = sa.Column(sa.String(128), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)

    customer = relationship("Customer", back_populates="identities")


class Seller(Base):
    __tablename__ = "sellers"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(120), nullable=False, unique=True)
    country = sa.Column(sa.String(2))


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("length(number) = 16", name="number_16_digits"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(16), nullable=False, unique=True)
    customer_id = sa.Column(sa.Integer, _fk("customers.id"), nullable=False, index=True)
    seller_id = sa.Column(sa.Integer, _fk("sellers.id", "RESTRICT"), nullable=False, index=True)
    amount = sa.Column(MONEY, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    status = sa.Column(_enum(OrderStatus, "order_status"), nullable=False)
    # Status before a buyer cancellation took effect: what "resume order" restores.
    previous_status = sa.Column(_enum(OrderStatus, "order_previous_status"))
    cancelled_by = sa.Column(_enum(CancelledBy, "cancelled_by"))
    created_at = sa.Column(UTCDateTime, nullable=False)
    paid_at = sa.Column(UTCDateTime)
    shipped_at = sa.Column(UTCDateTime)
    estimated_delivery = sa.Column(UTCDateTime)
    delivery_confirmed_at = sa.Column(UTCDateTime)
    protection_end = sa.Column(UTCDateTime)
    cancelled_at = sa.Column(UTCDateTime)

    customer = relationship("Customer", back_populates="orders")
    seller = relationship("Seller")
    items = relationship(
        "OrderItem", order_by="OrderItem.id", cascade="all, delete-orphan", passive_deletes=True
    )
    shipment = relationship("Shipment", uselist=False, cascade="all, delete-orphan", passive_deletes=True)
    cancellation_requests = relationship(
        "CancellationRequest",
        order_by="CancellationRequest.id",
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    disputes = relationship(
        "Dispute",
        order_by="Dispute.id",
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    refund = relationship("Refund", uselist=False, cascade="all, delete-orphan", passive_deletes=True)


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id"), nullable=False, index=True)
    title = sa.Column(sa.String(200), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False)
    unit_price = sa.Column(MONEY, nullable=False)


class Shipment(Base):
    __tablename__ = "shipments"

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id"), nullable=False, unique=True)
    carrier = sa.Column(sa.String(64), nullable=False)
    tracking_number = sa.Column(sa.String(64), nullable=False)

    events = relationship(
        "TrackingEvent",
        order_by=lambda: (TrackingEvent.at.desc(), TrackingEvent.id.desc()),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id = sa.Column(sa.Integer, primary_key=True)
    shipment_id = sa.Column(sa.Integer, _fk("shipments.id"), nullable=False, index=True)
    at = sa.Column(UTCDateTime, nullable=False)
    location = sa.Column(sa.String(120), nullable=False)  # "City, CC" (ISO 3166 country code)
    # What the scan means; the bot renders it in the buyer's language.
    code = sa.Column(_enum(TrackingMilestone, "tracking_milestone"), nullable=False)
    description = sa.Column(sa.String(255), nullable=False)  # the carrier's own wording, for agents


class CancellationRequest(Base):
    __tablename__ = "cancellation_requests"
    __table_args__ = (
        sa.Index(
            "uq_cancellation_requests_one_pending_per_order",
            "order_id",
            unique=True,
            sqlite_where=sa.text(_PENDING_REQUEST_SQL),
            postgresql_where=sa.text(_PENDING_REQUEST_SQL),
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id"), nullable=False, index=True)
    reason = sa.Column(_enum(CancellationReason, "cancellation_reason"), nullable=False)
    status = sa.Column(_enum(CancellationStatus, "cancellation_status"), nullable=False)
    requested_at = sa.Column(UTCDateTime, nullable=False)
    seller_deadline = sa.Column(UTCDateTime, nullable=False, index=True)
    decided_at = sa.Column(UTCDateTime)

    order = relationship("Order", back_populates="cancellation_requests")


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        sa.Index(
            "uq_disputes_one_active_per_order",
            "order_id",
            unique=True,
            sqlite_where=sa.text(_ACTIVE_DISPUTES_SQL),
            postgresql_where=sa.text(_ACTIVE_DISPUTES_SQL),
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id"), nullable=False, index=True)
    reason = sa.Column(_enum(DisputeReason, "dispute_reason"), nullable=False)
    description = sa.Column(sa.Text, nullable=False, default="")
    evidence = sa.Column(sa.JSON, nullable=False, default=list)  # references: photo ids, urls
    status = sa.Column(_enum(DisputeStatus, "dispute_status"), nullable=False)
    opened_at = sa.Column(UTCDateTime, nullable=False)
    withdrawn_at = sa.Column(UTCDateTime)
    resolved_at = sa.Column(UTCDateTime)

    order = relationship("Order", back_populates="disputes")
    events = relationship(
        "DisputeEvent",
        order_by="DisputeEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DisputeEvent(Base):
    __tablename__ = "dispute_events"

    id = sa.Column(sa.Integer, primary_key=True)
    dispute_id = sa.Column(sa.Integer, _fk("disputes.id"), nullable=False, index=True)
    at = sa.Column(UTCDateTime, nullable=False)
    kind = sa.Column(sa.String(32), nullable=False)  # opened, reopened, seller_responded, ...
    actor = sa.Column(sa.String(64), nullable=False)
    note = sa.Column(sa.Text, nullable=False, default="")


class Refund(Base):
    __tablename__ = "refunds"

    id = sa.Column(sa.Integer, primary_key=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id"), nullable=False, unique=True)
    amount = sa.Column(MONEY, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False)
    status = sa.Column(_enum(RefundStatus, "refund_status"), nullable=False)
    reason = sa.Column(_enum(RefundReason, "refund_reason"), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    completed_at = sa.Column(UTCDateTime)
    expected_by = sa.Column(sa.Date)


class SupportTicket(Base):
    """A hand-off to a human agent.  Its public number is derived from the id: ``T-000123``.

    A chat ticket knows its conversation (``conversation_id``, the Rasa sender id, and the
    ``channel`` the customer used): the agent console reads and answers it there. A triage ticket
    has no conversation; ``source_message_id`` (unique) is the inbound message it was filed for
    and ``reply_to`` where the message came from (e-mail address, phone)."""

    __tablename__ = "support_tickets"

    id = sa.Column(sa.Integer, primary_key=True)
    customer_id = sa.Column(sa.Integer, _fk("customers.id", "SET NULL"), index=True)
    order_id = sa.Column(sa.Integer, _fk("orders.id", "SET NULL"), index=True)
    language = sa.Column(_enum(Language, "ticket_language"), nullable=False)
    intent = sa.Column(sa.String(64), nullable=False)
    priority = sa.Column(_enum(TicketPriority, "ticket_priority"), nullable=False)
    summary = sa.Column(sa.Text, nullable=False, default="")
    transcript = sa.Column(sa.JSON)  # list of {"sender", "text", ...} turns, or plain text
    channel = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(_enum(TicketStatus, "ticket_status"), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    queue = sa.Column(_enum(TicketQueue, "ticket_queue"), nullable=False, default=TicketQueue.HUMAN)
    source = sa.Column(_enum(TicketSource, "ticket_source"), nullable=False, default=TicketSource.CHAT)
    conversation_id = sa.Column(sa.String(128), index=True)
    source_message_id = sa.Column(sa.String(200), unique=True)
    reply_to = sa.Column(sa.String(254))
    due_at = sa.Column(UTCDateTime, nullable=False, index=True)  # first answer due (priority's SLA)
    agent = sa.Column(sa.String(64))  # the agent who answered last
    first_response_at = sa.Column(UTCDateTime)
    handed_back_at = sa.Column(UTCDateTime)
    closed_at = sa.Column(UTCDateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime, nullable=False, index=True)
    actor = sa.Column(sa.String(64), nullable=False)  # customer:3, system:deadline-job, seller:2
    channel = sa.Column(sa.String(32), nullable=False)
    action = sa.Column(sa.String(64), nullable=False)
    entity = sa.Column(sa.String(32), nullable=False)
    entity_id = sa.Column(sa.String(32), nullable=False)
    details = sa.Column(sa.JSON, nullable=False, default=dict)


class IdempotencyKey(Base):
    """The answer given to a write request, replayed when the same key comes again."""

    __tablename__ = "idempotency_keys"

    id = sa.Column(sa.Integer, primary_key=True)
    key = sa.Column(sa.String(200), nullable=False, unique=True)
    operation = sa.Column(sa.String(64), nullable=False)
    customer_id = sa.Column(sa.Integer, index=True)  # scope check; no FK: history survives
    order_number = sa.Column(sa.String(16))
    result = sa.Column(sa.JSON, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
