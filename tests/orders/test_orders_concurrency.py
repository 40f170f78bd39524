"""Races: 20 threads (20 conversations) file the same request for one order at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from orders_test_helpers import customer_id, number
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from actions.orders import Code, OrderService, Result
from actions.orders import core as service_module
from actions.orders.models import AuditLog, CancellationRequest, Dispute, IdempotencyKey, SupportTicket

THREADS = 20


def race(call: Callable[[int], Result]) -> list[Result]:
    """Run ``call(i)`` in THREADS threads released together; re-raise any thread's error."""
    barrier = threading.Barrier(THREADS)
    results: list[Result] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = call(i)
            with lock:
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    assert len(results) == THREADS
    return results


def rows(sessions: sessionmaker, statement) -> int:  # noqa: ANN001 - a select()
    with sessions() as session:
        return int(session.execute(statement).scalar_one())


def audited(sessions: sessionmaker, action: str) -> int:
    return rows(sessions, select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def test_racing_cancellation_requests(demo: OrderService, sessions: sessionmaker) -> None:
    owner = customer_id(demo, "amina")
    order = number("amina", "03")
    results = race(
        lambda i: demo.request_cancellation(
            order_number=order, customer_id=owner, idempotency_key=f"conversation-{i}:cancel:{order}"
        )
    )
    winners = [r for r in results if r.ok]
    assert len(winners) == 1 and winners[0].code == Code.CANCELLATION_REQUESTED
    request_id = winners[0].data["request_id"]
    for loser in (r for r in results if not r.ok):
        assert (loser.code, loser.duplicate, loser.data["request_id"]) == (
            Code.CANCEL_ALREADY_REQUESTED,
            True,
            request_id,
        )
    assert (
        rows(
            sessions,
            select(func.count()).select_from(CancellationRequest).where(CancellationRequest.id >= request_id),
        )
        == 1
    )
    assert audited(sessions, "cancellation.requested") == 1


def test_racing_unpaid_cancellations(demo: OrderService, sessions: sessionmaker) -> None:
    owner = customer_id(demo, "oliver")
    order = number("oliver", "01")
    results = race(
        lambda i: demo.request_cancellation(order_number=order, customer_id=owner, idempotency_key=f"c{i}")
    )
    assert sorted(r.code for r in results) == [Code.ALREADY_CANCELLED] * (THREADS - 1) + [Code.CANCELLED]
    assert audited(sessions, "order.cancelled") == 1


def test_racing_same_idempotency_key(demo: OrderService, sessions: sessionmaker) -> None:
    owner = customer_id(demo, "wanjiku")
    order = number("wanjiku", "03")
    results = race(
        lambda i: demo.request_cancellation(order_number=order, customer_id=owner, idempotency_key="same-key")
    )
    first = [r for r in results if not r.duplicate]
    assert len(first) == 1 and first[0].code == Code.CANCELLATION_REQUESTED
    assert all(r.ok and r.data == first[0].data for r in results)
    assert rows(sessions, select(func.count()).select_from(IdempotencyKey)) == 1
    assert audited(sessions, "cancellation.requested") == 1


def test_racing_disputes(demo: OrderService, sessions: sessionmaker) -> None:
    owner = customer_id(demo, "amina")
    order = number("amina", "07")
    results = race(
        lambda i: demo.open_dispute(
            order_number=order,
            customer_id=owner,
            reason="not_received",
            description=f"conversation {i}",
            idempotency_key=f"conversation-{i}:dispute:{order}",
        )
    )
    winners = [r for r in results if r.ok]
    assert len(winners) == 1 and winners[0].code == Code.DISPUTE_OPENED
    dispute_id = winners[0].data["dispute_id"]
    for loser in (r for r in results if not r.ok):
        assert (loser.code, loser.duplicate, loser.data["dispute_id"]) == (
            Code.DISPUTE_ALREADY_OPEN,
            True,
            dispute_id,
        )
    assert rows(sessions, select(func.count()).select_from(Dispute).where(Dispute.id >= dispute_id)) == 1
    assert audited(sessions, "dispute.opened") == 1


def test_racing_tickets_with_one_key(
    demo: OrderService, sessions: sessionmaker, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No order row to lock here: the unique key and the retry on IntegrityError decide.
    Storing the answer is slowed down so that the transactions really overlap."""
    retried: list[str] = []
    is_retryable = service_module._is_retryable
    remember = OrderService._remember

    def spy(exc: DBAPIError) -> bool:
        retried.append(type(exc).__name__)
        return is_retryable(exc)

    def slow_remember(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)
        remember(*args, **kwargs)

    monkeypatch.setattr(service_module, "_is_retryable", spy)
    monkeypatch.setattr(OrderService, "_remember", staticmethod(slow_remember))
    owner = customer_id(demo, "oliver")
    results = race(
        lambda i: demo.open_ticket(
            customer_id=owner, language="en", intent="request_human", idempotency_key="handoff-1"
        )
    )
    assert len({r.data["ticket_number"] for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert rows(sessions, select(func.count()).select_from(SupportTicket)) == 1
    assert audited(sessions, "ticket.opened") == 1
    if backend == "postgresql":  # SQLite queues writers (BEGIN IMMEDIATE): nothing to retry
        assert retried and set(retried) == {"IntegrityError"}
