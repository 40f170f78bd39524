"""Small helpers shared by the order-service tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from actions.orders.demo import CUSTOMERS, order_number
from actions.orders.models import AuditLog, Base, metadata
from actions.orders.service import OrderService

# A fixed Wednesday morning: every test sees the same calendar (weekends matter for refunds).
NOW = datetime(2025, 3, 12, 9, 30, tzinfo=timezone.utc)


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def number(customer_key: str, scenario: str) -> str:
    spec = next(c for c in CUSTOMERS if c.key == customer_key)
    return order_number(spec, scenario)


def customer_id(service: OrderService, customer_key: str) -> int:
    spec = next(c for c in CUSTOMERS if c.key == customer_key)
    channel, external_id = spec.identities[0]
    found = service.customer_for_identity(channel=channel, external_id=external_id)
    assert found is not None
    return found


def count(sessions: sessionmaker, model: type[Base]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def table_counts(sessions: sessionmaker) -> dict[str, int]:
    with sessions() as session:
        return {
            table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }


def audit_rows(sessions: sessionmaker) -> list[AuditLog]:
    with sessions() as session:
        return list(session.execute(select(AuditLog).order_by(AuditLog.id)).scalars())
