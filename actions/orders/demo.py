"""Deterministic demo data: three customers, the same 19 scenarios each.

Every date is an offset from ``now``, so the scenarios stay valid whenever the demo is seeded
(e.g. scenario 06's parcel is always 10 days from arrival).  :func:`seed` is safe at every start:
demo customers, sellers and channel identities are upserted (ids stay stable, identities linked
later are kept); demo orders are deleted and rebuilt in the state their scenario describes, and
the demo customers' stored idempotency answers are forgotten so a replayed key cannot return an
answer about the previous incarnation of an order.

Order numbers: customer prefix (8 digits) + ``000000`` + two-digit scenario code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import rules
from .clock import as_utc, utcnow
from .db import WRITE_OPTIONS, SessionFactory
from .enums import (
    CancellationReason,
    CancellationStatus,
    CancelledBy,
    DisputeReason,
    DisputeStatus,
    Language,
    OrderStatus,
    RefundReason,
    RefundStatus,
    TrackingMilestone,
)
from .models import (
    AuditLog,
    CancellationRequest,
    ChannelIdentity,
    Customer,
    Dispute,
    DisputeEvent,
    IdempotencyKey,
    Order,
    OrderItem,
    Refund,
    Seller,
    Shipment,
    SupportTicket,
    TrackingEvent,
)

SEED_ACTOR = "system:demo-seed"


@dataclass(frozen=True)
class DemoCustomer:
    key: str
    name: str
    email: str
    phone: str
    country: str
    language: Language
    locale: str  # CLDR locale: how dates and amounts are written for them
    time_zone: str
    order_prefix: str
    currency: str
    rate_per_usd: Decimal
    rounding: Decimal  # prices are rounded to this step in the local currency
    city: str
    identities: tuple[tuple[str, str], ...]


CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        key="amina",
        name="Amina Diallo",
        email="amina.diallo@example.com",
        phone="+221771234567",
        country="SN",
        language=Language.FR,
        locale="fr_SN",
        time_zone="Africa/Dakar",
        order_prefix="81700345",
        currency="XOF",
        rate_per_usd=Decimal("605"),
        rounding=Decimal("50"),
        city="Dakar, SN",
        identities=(("telegram", "100001"), ("whatsapp", "+221771234567"), ("slack", "U0AMINA")),
    ),
    DemoCustomer(
        key="wanjiku",
        name="Wanjiku Kamau",
        email="wanjiku.kamau@example.co.ke",
        phone="+254712345678",
        country="KE",
        language=Language.SW,
        locale="sw_KE",
        time_zone="Africa/Nairobi",
        order_prefix="81700512",
        currency="KES",
        rate_per_usd=Decimal("129"),
        rounding=Decimal("10"),
        city="Nairobi, KE",
        identities=(("telegram", "100002"), ("whatsapp", "+254712345678"), ("slack", "U0WANJIKU")),
    ),
    DemoCustomer(
        key="oliver",
        name="Oliver Smith",
        email="oliver.smith@example.co.uk",
        phone="+447700900123",
        country="GB",
        language=Language.EN,
        locale="en_GB",
        time_zone="Europe/London",
        order_prefix="81700877",
        currency="GBP",
        rate_per_usd=Decimal("0.79"),
        rounding=Decimal("0.01"),
        city="London, GB",
        identities=(("telegram", "100003"), ("whatsapp", "+447700900123"), ("slack", "U0OLIVER")),
    ),
)

SELLERS = (
    "Shenzhen Lumen Tech Store",
    "Yiwu Sunny Home Store",
    "Guangzhou Silk Road Fashion",
    "Hangzhou Kitchen Pro Store",
    "Dongguan Trail Outdoor Factory Store",
    "Ningbo Little Joy Kids Store",
)

# (title, seller index, unit price in USD, quantity)
CATALOG: tuple[tuple[str, int, str, int], ...] = (
    ("TWS Bluetooth 5.3 wireless earbuds, ENC noise cancelling", 0, "18.90", 1),
    ("65W GaN USB-C fast charger, 3 ports", 0, "21.50", 1),
    ('Smart watch 1.96" AMOLED, heart rate & SpO2', 0, "34.00", 1),
    ("Cotton bed sheet set, 4 pieces, queen size", 1, "27.80", 1),
    ("LED fairy string lights 10 m, warm white", 1, "6.40", 3),
    ("Women's wax print maxi dress, size M", 2, "24.60", 1),
    ("Men's linen short-sleeve shirt, size L", 2, "15.30", 2),
    ("Non-stick frying pan set, 3 pieces", 3, "39.90", 1),
    ("Electric milk frother, rechargeable", 3, "9.80", 1),
    ("Stainless steel vacuum flask 1 L", 3, "12.70", 2),
    ("Ultralight camping tent, 2 persons", 4, "58.00", 1),
    ("Solar power bank 20000 mAh, waterproof", 4, "23.40", 1),
    ("Kids' building blocks set, 520 pieces", 5, "19.90", 1),
    ("Baby carrier with hip seat, ergonomic", 5, "31.20", 1),
    ("Phone case with card holder, iPhone 13", 0, "5.60", 2),
    ("Silk scarf 90x90 cm, printed", 2, "11.90", 1),
    ("Mechanical keyboard, 87 keys, hot-swappable", 0, "45.00", 1),
    ("Hair clipper, cordless, 6 guards", 1, "17.40", 1),
    ("Running shoes, breathable mesh, EU 42", 4, "29.90", 1),
)

CARRIERS = ("Cainiao", "AliExpress Standard Shipping", "DHL")


@dataclass(frozen=True)
class DemoOrder:
    number: str
    customer: str
    scenario: str
    description: str


class _Builder:
    """Puts one demo order into its scenario's state, relative to ``now``."""

    def __init__(self, order: Order, customer: DemoCustomer, now: datetime, carrier: int) -> None:
        self.order = order
        self.customer = customer
        self.now = now
        self.carrier = carrier

    def ago(self, days: float = 0, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def ahead(self, days: float = 0, hours: float = 0) -> datetime:
        return self.now + timedelta(days=days, hours=hours)

    def created(self, days: float = 0, hours: float = 0) -> _Builder:
        self.order.created_at = self.ago(days, hours)
        return self

    def paid(self) -> _Builder:
        self.order.paid_at = self.order.created_at + timedelta(minutes=20)
        self.order.status = OrderStatus.AWAITING_SHIPMENT
        return self

    def shipped(self, days_ago: float, eta: datetime, progress: int) -> _Builder:
        """``progress`` = how many of the usual tracking milestones are already scanned."""
        self.paid()
        order = self.order
        order.status = OrderStatus.SHIPPED
        order.shipped_at = self.ago(days_ago)
        order.estimated_delivery = eta
        order.protection_end = eta + timedelta(days=15)
        milestones = (  # (code, the carrier's wording, where)
            (TrackingMilestone.SHIPPED, "Seller shipped the parcel", "Shenzhen, CN"),
            (TrackingMilestone.AT_SORTING_CENTER, "Arrived at sorting center", "Guangzhou, CN"),
            (TrackingMilestone.DEPARTED_ORIGIN, "Departed from country of origin", "Guangzhou, CN"),
            (TrackingMilestone.ARRIVED_DESTINATION, "Arrived in destination country", self.customer.city),
            (TrackingMilestone.CUSTOMS_CLEARED, "Customs clearance completed", self.customer.city),
            (TrackingMilestone.OUT_FOR_DELIVERY, "Out for delivery", self.customer.city),
            (TrackingMilestone.DELIVERED, "Delivered", self.customer.city),
        )
        last_scan = min(eta, self.now - timedelta(hours=6))
        step = (last_scan - order.shipped_at) / max(progress - 1, 1)
        events = [
            TrackingEvent(
                at=order.shipped_at + step * i,
                location=location,
                code=code,
                description=description,
            )
            for i, (code, description, location) in enumerate(milestones[:progress])
        ]
        order.shipment = Shipment(
            carrier=CARRIERS[self.carrier],
            tracking_number=_tracking_number(self.carrier, order.number),
            events=events,
        )
        return self

    def delivered(self, shipped_days_ago: float, confirmed_days_ago: float) -> _Builder:
        confirmed = self.ago(confirmed_days_ago)
        self.shipped(shipped_days_ago, eta=confirmed - timedelta(days=1), progress=7)
        self.order.status = OrderStatus.DELIVERED
        self.order.delivery_confirmed_at = confirmed
        self.order.protection_end = confirmed + timedelta(days=15)
        return self

    def completed(self, shipped_days_ago: float, confirmed_days_ago: float) -> _Builder:
        self.delivered(shipped_days_ago, confirmed_days_ago)
        self.order.status = OrderStatus.COMPLETED
        return self

    def cancelled(self, by: CancelledBy, days_ago: float = 0, hours_ago: float = 0) -> _Builder:
        order = self.order
        order.previous_status = order.status
        order.status = OrderStatus.CANCELLED
        order.cancelled_by = by
        order.cancelled_at = self.ago(days_ago, hours_ago)
        return self

    def request(
        self, requested: datetime, status: CancellationStatus, decided: datetime | None = None
    ) -> _Builder:
        self.order.cancellation_requests.append(
            CancellationRequest(
                reason=CancellationReason.NO_LONGER_NEEDED,
                status=status,
                requested_at=requested,
                seller_deadline=rules.cancellation_deadline(requested),
                decided_at=decided,
            )
        )
        return self

    def refund(self, created: datetime, completed: datetime | None, reason: RefundReason) -> _Builder:
        self.order.refund = Refund(
            amount=self.order.amount,
            currency=self.order.currency,
            status=RefundStatus.COMPLETED if completed else RefundStatus.PENDING,
            reason=reason,
            created_at=created,
            completed_at=completed,
            expected_by=rules.refund_expectation(created).expected_by,
        )
        return self

    def dispute(
        self,
        reason: DisputeReason,
        description: str,
        opened: datetime,
        history: tuple[tuple[DisputeStatus, datetime], ...] = (),
    ) -> _Builder:
        buyer = f"customer:{self.order.customer_id}"
        seller = f"seller:{self.order.seller_id}"
        dispute = Dispute(
            reason=reason,
            description=description,
            evidence=[f"photo:{self.order.number}-1.jpg"],
            status=DisputeStatus.OPEN,
            opened_at=opened,
            events=[DisputeEvent(at=opened, kind="opened", actor=buyer, note=description)],
        )
        actors = {
            DisputeStatus.SELLER_RESPONDED: seller,
            DisputeStatus.WITHDRAWN: buyer,
        }
        for status, at in history:
            dispute.status = status
            dispute.events.append(
                DisputeEvent(at=at, kind=status.value, actor=actors.get(status, "platform"), note="")
            )
            if status is DisputeStatus.WITHDRAWN:
                dispute.withdrawn_at = at
            elif status in (DisputeStatus.RESOLVED_BUYER, DisputeStatus.RESOLVED_SELLER):
                dispute.resolved_at = at
        self.order.disputes.append(dispute)
        return self


def _tracking_number(carrier: int, order_number: str) -> str:
    """Carrier-shaped, deterministic tracking numbers."""
    digits = f"{int(order_number) * 2654435761 % 10**14:014d}"
    if carrier == 0:
        return f"LP00{digits}"  # Cainiao
    if carrier == 1:
        return f"RR{digits[:9]}CN"  # AliExpress Standard Shipping (UPU format)
    return digits[:10]  # DHL Express waybill


def _s01(b: _Builder) -> None:
    b.created(hours=2)


def _s02(b: _Builder) -> None:
    b.created(hours=3)
    b.order.status = OrderStatus.PAYMENT_PROCESSING


def _s03(b: _Builder) -> None:
    b.created(days=1, hours=1).paid()


def _s04(b: _Builder) -> None:
    b.created(days=2).paid().request(b.ago(hours=24), CancellationStatus.PENDING_SELLER)


def _s05(b: _Builder) -> None:
    b.created(days=4).paid().request(b.ago(hours=73), CancellationStatus.PENDING_SELLER)


def _s06(b: _Builder) -> None:
    b.created(days=8).shipped(6, eta=b.ahead(10), progress=4)


def _s07(b: _Builder) -> None:
    b.created(days=45).shipped(43, eta=b.ago(5), progress=4)


def _s08(b: _Builder) -> None:
    b.created(days=20).delivered(shipped_days_ago=18, confirmed_days_ago=3)


def _s09(b: _Builder) -> None:
    b.created(days=70).completed(shipped_days_ago=68, confirmed_days_ago=40)


def _s10(b: _Builder) -> None:
    b.created(days=1)
    b.order.status = OrderStatus.PAYMENT_PROCESSING
    b.cancelled(CancelledBy.BUYER, hours_ago=12)
    b.request(b.ago(hours=12), CancellationStatus.PENDING_SELLER)


def _s11(b: _Builder) -> None:
    b.created(days=6).paid()
    b.request(b.ago(days=3), CancellationStatus.APPROVED, decided=b.ago(days=2))
    b.cancelled(CancelledBy.BUYER, days_ago=2)
    b.refund(b.ago(days=2), None, RefundReason.CANCELLATION)


def _s12(b: _Builder) -> None:
    b.created(days=15).paid().cancelled(CancelledBy.PLATFORM_FRAUD, days_ago=13)
    b.refund(b.ago(days=13), b.ago(days=9), RefundReason.CANCELLATION)


def _s13(b: _Builder) -> None:
    b.created(days=25).delivered(shipped_days_ago=23, confirmed_days_ago=4)
    b.dispute(
        DisputeReason.BAD_QUALITY,
        "The seams came apart after the first wash.",
        opened=b.ago(days=2),
    )


def _s14(b: _Builder) -> None:
    b.created(days=24).delivered(shipped_days_ago=22, confirmed_days_ago=5)
    b.dispute(
        DisputeReason.NOT_AS_DESCRIBED,
        "Colour differs from the product photos.",
        opened=b.ago(days=4),
        history=((DisputeStatus.WITHDRAWN, b.ago(days=3)),),
    )


def _s15(b: _Builder) -> None:
    b.created(days=60).completed(shipped_days_ago=58, confirmed_days_ago=30)
    b.order.protection_end = b.ago(days=20)
    b.dispute(
        DisputeReason.DAMAGED,
        "The box arrived crushed and one part is cracked.",
        opened=b.ago(days=28),
        history=((DisputeStatus.WITHDRAWN, b.ago(days=26)),),
    )


def _s16(b: _Builder) -> None:
    b.created(days=50).completed(shipped_days_ago=48, confirmed_days_ago=30)
    b.dispute(
        DisputeReason.NOT_AS_DESCRIBED,
        "Received a smaller size than the one ordered.",
        opened=b.ago(days=28),
        history=(
            (DisputeStatus.SELLER_RESPONDED, b.ago(days=26)),
            (DisputeStatus.RESOLVED_BUYER, b.ago(days=20)),
        ),
    )
    b.refund(b.ago(days=20), b.ago(days=17), RefundReason.DISPUTE)


def _s17(b: _Builder) -> None:
    b.created(days=30).delivered(shipped_days_ago=28, confirmed_days_ago=10)
    b.dispute(
        DisputeReason.BAD_QUALITY,
        "Battery drains in two hours.",
        opened=b.ago(days=9),
        history=(
            (DisputeStatus.SELLER_RESPONDED, b.ago(days=7)),
            (DisputeStatus.RESOLVED_SELLER, b.ago(days=1)),
        ),
    )


def _s18(b: _Builder) -> None:
    b.created(days=50).shipped(48, eta=b.ago(20), progress=4)
    b.order.protection_end = b.ahead(30)  # extended while the platform mediates
    b.dispute(
        DisputeReason.NOT_RECEIVED,
        "Tracking has not moved for three weeks.",
        opened=b.ago(days=12),
        history=(
            (DisputeStatus.SELLER_RESPONDED, b.ago(days=9)),
            (DisputeStatus.ESCALATED, b.ago(days=5)),
        ),
    )


def _s19(b: _Builder) -> None:
    b.created(days=10).paid().cancelled(CancelledBy.SELLER, days_ago=8)
    b.refund(b.ago(days=8), b.ago(days=4), RefundReason.CANCELLATION)


SCENARIOS: tuple[tuple[str, str, Callable[[_Builder], None]], ...] = (
    ("01", "awaiting payment (cancels at once)", _s01),
    ("02", "payment processing (cancellation goes to the seller)", _s02),
    ("03", "paid 1 day ago, awaiting shipment (cancellable by request)", _s03),
    ("04", "awaiting shipment, cancellation request pending (seller deadline in 48 h)", _s04),
    ("05", "awaiting shipment, cancellation request past its 72 h deadline (deadline job approves it)", _s05),
    ("06", "shipped, in transit, delivery expected in 10 days", _s06),
    ("07", "shipped, estimated delivery passed 5 days ago (not received: dispute allowed)", _s07),
    ("08", "delivered, confirmed 3 days ago, buyer protection active", _s08),
    ("09", "completed, buyer protection expired", _s09),
    ("10", "cancelled by the buyer, awaiting seller confirmation (resumable)", _s10),
    ("11", "cancelled by the buyer, confirmed by the seller, refund pending (not resumable)", _s11),
    ("12", "cancelled by the platform (suspected fraud), refund completed", _s12),
    ("13", "delivered, dispute open (bad quality)", _s13),
    ("14", "delivered 5 days ago, dispute withdrawn (can be reopened)", _s14),
    (
        "15",
        "dispute withdrawn, delivered 30 days ago, protection expired 20 days ago (cannot be reopened)",
        _s15,
    ),
    ("16", "dispute resolved in the buyer's favour, refund completed", _s16),
    ("17", "dispute resolved in the seller's favour", _s17),
    ("18", "shipped, not received, dispute escalated to platform mediation", _s18),
    ("19", "cancelled by the seller, refund completed", _s19),
)


def order_number(customer: DemoCustomer, scenario: str) -> str:
    return f"{customer.order_prefix}000000{scenario}"


DEMO_ORDERS: tuple[DemoOrder, ...] = tuple(
    DemoOrder(order_number(c, code), c.name, code, description)
    for c in CUSTOMERS
    for code, description, _ in SCENARIOS
)


def demo_table_markdown() -> str:
    """The demo orders as a Markdown table (for the README)."""
    lines = [
        "| Order number | Customer | Scenario | State |",
        "|---|---|---|---|",
        *(f"| `{o.number}` | {o.customer} | {o.scenario} | {o.description} |" for o in DEMO_ORDERS),
    ]
    return "\n".join(lines)


def _price(customer: DemoCustomer, usd: str) -> Decimal:
    local = Decimal(usd) * customer.rate_per_usd
    steps = (local / customer.rounding).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (max(steps, Decimal(1)) * customer.rounding).quantize(Decimal("0.01"))


def _upsert_customer(session: Session, spec: DemoCustomer, now: datetime) -> Customer:
    customer = session.execute(select(Customer).where(Customer.email == spec.email)).scalar_one_or_none()
    if customer is None:
        customer = Customer(email=spec.email, created_at=now)
        session.add(customer)
    customer.name = spec.name
    customer.phone = spec.phone
    customer.country = spec.country
    customer.preferred_language = spec.language
    customer.locale = spec.locale
    customer.time_zone = spec.time_zone
    session.flush()
    for channel, external_id in spec.identities:
        identity = session.execute(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
            )
        ).scalar_one_or_none()
        if identity is None:
            session.add(
                ChannelIdentity(
                    customer_id=customer.id, channel=channel, external_id=external_id, created_at=now
                )
            )
        else:
            identity.customer_id = customer.id
    return customer


def _upsert_sellers(session: Session) -> list[Seller]:
    sellers = []
    for name in SELLERS:
        seller = session.execute(select(Seller).where(Seller.name == name)).scalar_one_or_none()
        if seller is None:
            seller = Seller(name=name, country="CN")
            session.add(seller)
        sellers.append(seller)
    session.flush()
    return sellers


def _build_order(
    customer: Customer, spec: DemoCustomer, sellers: list[Seller], index: int, now: datetime
) -> Order:
    code, _, build = SCENARIOS[index]
    customer_offset = CUSTOMERS.index(spec) * 5
    title, seller_index, usd, quantity = CATALOG[(index + customer_offset) % len(CATALOG)]
    unit_price = _price(spec, usd)
    order = Order(
        number=order_number(spec, code),
        customer_id=customer.id,
        seller_id=sellers[seller_index].id,
        amount=unit_price * quantity,
        currency=spec.currency,
        status=OrderStatus.AWAITING_PAYMENT,
        created_at=now,
        items=[OrderItem(title=title, quantity=quantity, unit_price=unit_price)],
    )
    build(_Builder(order, spec, now, carrier=(index + customer_offset) % len(CARRIERS)))
    return order


def seed(session_factory: SessionFactory, now: datetime | None = None) -> int:
    """(Re)load the demo in one transaction; returns the number of demo orders."""
    moment = as_utc(now) if now is not None else utcnow()
    numbers = [o.number for o in DEMO_ORDERS]
    with session_factory() as session, session.begin():
        session.connection(execution_options=WRITE_OPTIONS)
        sellers = _upsert_sellers(session)
        customers = [(_upsert_customer(session, spec, moment), spec) for spec in CUSTOMERS]
        old_ids = select(Order.id).where(Order.number.in_(numbers)).scalar_subquery()
        session.execute(
            update(SupportTicket)
            .where(SupportTicket.order_id.in_(old_ids))
            .values(order_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Order).where(Order.number.in_(numbers)).execution_options(synchronize_session=False)
        )
        session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.customer_id.in_([c.id for c, _ in customers]))
            .execution_options(synchronize_session=False)
        )
        session.expire_all()
        for customer, spec in customers:
            for index in range(len(SCENARIOS)):
                session.add(_build_order(customer, spec, sellers, index, moment))
        session.add(
            AuditLog(
                at=moment,
                actor=SEED_ACTOR,
                channel="system",
                action="demo.seeded",
                entity="demo",
                entity_id="all",
                details={"orders": len(numbers)},
            )
        )
    return len(numbers)
