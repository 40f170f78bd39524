"""Time helpers (pure standard library).  Every datetime in this package is timezone-aware UTC."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc


def utcnow() -> datetime:
    """The default clock of :class:`~actions.orders.service.OrderService`."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC copy of ``moment``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def add_business_days(start: date, days: int) -> date:
    """``start`` plus ``days`` working days (Monday to Friday; public holidays ignored)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
