"""Alembic: upgrading an empty database gives exactly the models' schema, on both backends;
the partial unique indexes hold; downgrading to base removes everything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from orders_test_helpers import NOW
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.orders.db import make_engine
from actions.orders.enums import (
    CancellationReason,
    CancellationStatus,
    DisputeReason,
    DisputeStatus,
    OrderStatus,
)
from actions.orders.models import CancellationRequest, Customer, Dispute, Order, Seller, metadata
from actions.orders.schema import VERSION_TABLE, downgrade, migrate, schema_diff


def _schema(url: str) -> dict[str, object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            tables = set(inspector.get_table_names())
            return {
                "diff": schema_diff(url),
                "tables": tables,
                "indexes": {
                    t: {
                        ix["name"]: (tuple(ix["column_names"]), bool(ix["unique"]))
                        for ix in inspector.get_indexes(t)
                    }
                    for t in tables - {VERSION_TABLE}
                },
            }
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade(new_database: Callable[[str], str]) -> None:
    url = new_database("migrations")
    migrate(url)
    schema = _schema(url)
    assert schema["diff"] == []  # autogenerate finds nothing to change: same tables as the models
    assert schema["tables"] == set(metadata.tables) | {VERSION_TABLE}
    indexes = schema["indexes"]
    assert indexes["cancellation_requests"]["uq_cancellation_requests_one_pending_per_order"] == (
        ("order_id",),
        True,
    )  # type: ignore[index]
    assert indexes["disputes"]["uq_disputes_one_active_per_order"] == (("order_id",), True)  # type: ignore[index]

    migrate(url)  # already at head: a no-op
    downgrade(url, "base")
    assert _schema(url)["tables"] == {VERSION_TABLE}
    migrate(url)  # and back up again
    assert _schema(url)["diff"] == []


def test_partial_unique_indexes_enforce_invariants(new_database: Callable[[str], str]) -> None:
    url = new_database("invariants")
    migrate(url)
    engine = make_engine(url)
    try:
        with Session(engine, future=True) as session, session.begin():
            customer = Customer(name="T", email="t@example.com", preferred_language="en", created_at=NOW)
            order = Order(
                number="1234567890123456",
                customer=customer,
                seller=Seller(name="S"),
                amount=Decimal("1.50"),
                currency="GBP",
                status=OrderStatus.AWAITING_SHIPMENT,
                created_at=NOW,
            )
            session.add(order)
            session.flush()
            order_id = order.id

        def add(row: object) -> None:
            with Session(engine, future=True) as session, session.begin():
                session.add(row)

        def request_row(status: CancellationStatus) -> CancellationRequest:
            return CancellationRequest(
                order_id=order_id,
                reason=CancellationReason.OTHER,
                status=status,
                requested_at=NOW,
                seller_deadline=NOW + timedelta(hours=72),
            )

        def dispute_row(status: DisputeStatus) -> Dispute:
            return Dispute(order_id=order_id, reason=DisputeReason.DAMAGED, status=status, opened_at=NOW)

        add(request_row(CancellationStatus.PENDING_SELLER))
        add(request_row(CancellationStatus.WITHDRAWN))  # decided requests do not count
        with pytest.raises(IntegrityError):
            add(request_row(CancellationStatus.PENDING_SELLER))

        add(dispute_row(DisputeStatus.WITHDRAWN))
        add(dispute_row(DisputeStatus.OPEN))
        with pytest.raises(IntegrityError):
            add(dispute_row(DisputeStatus.ESCALATED))
    finally:
        engine.dispose()


def test_localisation_revision_backfills_regions_and_milestone_codes(new_database: Callable[[str], str]) -> None:
    """0003 gives existing customers the locale and time zone of their country and language, and
    existing tracking events the code their English wording names; downgrading removes both."""
    url = new_database("localisation")
    migrate(url, "0001_initial")
    engine = make_engine(url)
    rows = {
        "customers": [
            {"id": 1, "name": "A", "email": "a@example.com", "preferred_language": "fr", "country": "SN"},
            {"id": 2, "name": "B", "email": "b@example.com", "preferred_language": "en", "country": "KE"},
            {"id": 3, "name": "C", "email": "c@example.com", "preferred_language": "sw", "country": "US"},
        ],
        "sellers": [{"id": 1, "name": "S"}],
        "orders": [{"id": 1, "number": "1234567890123456", "customer_id": 1, "seller_id": 1, "amount": 5,
                    "currency": "XOF", "status": "shipped"}],
        "shipments": [{"id": 1, "order_id": 1, "carrier": "DHL", "tracking_number": "1"}],
        "tracking_events": [
            {"id": i, "shipment_id": 1, "location": "Dakar, SN", "description": text}
            for i, text in enumerate(("Customs clearance completed", "Out for delivery", "Parcel scanned"), 1)
        ],
    }
    try:
        with engine.begin() as connection:
            for table, values in rows.items():
                stamp = {"at": NOW} if table == "tracking_events" else {} if table in ("sellers", "shipments") \
                    else {"created_at": NOW}
                connection.execute(sa.table(table, *(sa.column(c) for c in [*values[0], *stamp])).insert(),
                                   [{**v, **stamp} for v in values])
        migrate(url)
        with engine.connect() as connection:
            regions = connection.execute(sa.text("SELECT id, locale, time_zone FROM customers ORDER BY id")).all()
            codes = connection.execute(sa.text("SELECT code FROM tracking_events ORDER BY id")).scalars().all()
        assert [tuple(r) for r in regions] == [(1, "fr_SN", "Africa/Dakar"), (2, "en_KE", "Africa/Nairobi"),
                                               (3, None, None)]
        assert codes == ["customs_cleared", "out_for_delivery", "in_transit"]
        assert schema_diff(url) == []
        with pytest.raises(IntegrityError), engine.begin() as connection:  # only known codes
            connection.execute(sa.text("UPDATE tracking_events SET code = 'teleported' WHERE id = 1"))
        downgrade(url, "0001_initial")
        columns = {c["name"] for c in inspect(engine).get_columns("tracking_events")}
        assert "code" not in columns and "locale" not in {c["name"] for c in inspect(engine).get_columns("customers")}
    finally:
        engine.dispose()
