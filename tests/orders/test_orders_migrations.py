"""Alembic: upgrading an empty database gives exactly the models' schema, on both backends;
the partial unique indexes hold; downgrading to base removes everything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
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
