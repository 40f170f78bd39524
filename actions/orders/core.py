"""The service's transaction core: one write transaction per call, idempotency keys, ownership.

Every part of :class:`~actions.orders.service.OrderService` (cancellations, disputes, tickets...)
writes through :meth:`ServiceCore._write` (one transaction, retried when a race is lost, an audit row
per change, ``_Tx``) and reads owned orders through :meth:`ServiceCore._owned_order`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from .clock import as_utc, utcnow
from .contacts import (
    normalize_order_number,
)
from .db import WRITE_OPTIONS, SessionFactory
from .enums import (
    values,
)
from .models import (
    AuditLog,
    IdempotencyKey,
    Order,
    Shipment,
)
from .rules import Code, Decision
from .views import (
    Result,
    jsonable,
)

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

DEADLINE_JOB_ACTOR = "system:deadline-job"
SYSTEM_CHANNEL = "system"
WRITE_ATTEMPTS = 5
_RETRYABLE_PGCODES = {"40001", "40P01"}  # serialization failure, deadlock detected


class _Op:
    """Operation names stored with idempotency keys (a key is only valid for its operation)."""

    REQUEST_CANCELLATION = "request_cancellation"
    RESUME_ORDER = "resume_order"
    OPEN_DISPUTE = "open_dispute"
    WITHDRAW_DISPUTE = "withdraw_dispute"
    OPEN_TICKET = "open_ticket"


def _storable_key(key: str) -> str:
    """Idempotency keys longer than the column are stored as their SHA-256."""
    return (
        key
        if len(key) <= IdempotencyKey.key.type.length
        else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    )


def _clip(text: str, column: Any) -> str:
    return text[: column.type.length]


def _customer_actor(customer_id: int | None) -> str:
    return f"customer:{customer_id}" if customer_id is not None else "anonymous"


def _parse_enum(enum_cls: type[E], raw: Any) -> E | None:
    try:
        return enum_cls(raw.value if isinstance(raw, Enum) else raw)
    except ValueError:
        return None


def _invalid(code: str, field: str, raw: Any, enum_cls: type[Enum]) -> Result:
    return Result.of(False, code, field=field, value=str(raw), allowed=values(enum_cls))


def _decision_result(decision: Decision, number: str, duplicate: bool = False, **extra: Any) -> Result:
    result = Result.of(decision.allowed, decision.code, order_number=number, **decision.facts, **extra)
    return dataclasses.replace(result, duplicate=duplicate)


def _not_found(number: str) -> Result:
    return Result.of(False, Code.ORDER_NOT_FOUND, order_number=number)


def _is_retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "pgcode", None) in _RETRYABLE_PGCODES


@dataclass(frozen=True)
class _Tx:
    """One write transaction: its session, its moment, who acts and through which channel."""

    session: Session
    now: datetime
    actor: str
    channel: str

    def acting_as(self, actor: str) -> _Tx:
        return dataclasses.replace(self, actor=actor)

    def audit(self, action: str, entity: str, entity_id: Any, details: dict[str, Any] | None = None) -> None:
        self.session.add(
            AuditLog(
                at=self.now,
                actor=self.actor,
                channel=self.channel,
                action=action,
                entity=entity,
                entity_id=str(entity_id),
                details=jsonable(details or {}),
            )
        )


def _order_details(load: Callable[..., Any]) -> tuple[Any, ...]:
    """Everything an answer about an order reads, loaded with ``load`` (a SQLAlchemy loader)."""
    return (
        load(Order.customer),
        load(Order.seller),
        load(Order.items),
        getattr(load(Order.shipment), load.__name__)(Shipment.events),
        load(Order.cancellation_requests),
        load(Order.disputes),
        load(Order.refund),
    )


# In ONE statement: an order has a handful of items, tracking events, requests and disputes, so the
# joined rows stay few, where a SELECT per relation cost eight round trips per read (most of the
# action server's time in a turn). A row lock cannot cover the nullable side of an outer join
# (PostgreSQL refuses FOR UPDATE there), so a locked read loads the relations with their own SELECTs.
_ORDER_DETAILS = _order_details(joinedload)
_ORDER_DETAILS_LOCKED = _order_details(selectinload)


class ServiceCore:
    """See the module docstring.  All public methods take keyword arguments."""

    def __init__(self, session_factory: SessionFactory, clock: Callable[[], datetime] = utcnow):
        self._sessions = session_factory
        self._clock = clock

    def now(self) -> datetime:
        return as_utc(self._clock())

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _write(self, work: Callable[[_Tx], T], *, actor: str, channel: str, now: datetime | None = None) -> T:
        """Run ``work`` in one write transaction; start over when a constraint or lock race
        is lost, so the next attempt reads the winner's state."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._sessions() as session, session.begin():
                    session.connection(execution_options=WRITE_OPTIONS)
                    return work(_Tx(session, now or self.now(), actor, _clip(channel, AuditLog.channel)))
            except DBAPIError as exc:
                if attempt == WRITE_ATTEMPTS or not _is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _replay(
        session: Session, key: str, operation: str, customer_id: int | None, number: str | None
    ) -> Result | None:
        row = session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one_or_none()
        if row is None:
            return None
        if (row.operation, row.customer_id, row.order_number) != (operation, customer_id, number):
            return Result.of(False, Code.IDEMPOTENCY_KEY_CONFLICT, idempotency_key=key)
        stored = row.result
        return Result(ok=stored["ok"], code=stored["code"], data=stored["data"], duplicate=True)

    @staticmethod
    def _remember(
        tx: _Tx, key: str, operation: str, customer_id: int | None, number: str | None, result: Result
    ) -> None:
        tx.session.add(
            IdempotencyKey(
                key=key,
                operation=operation,
                customer_id=customer_id,
                order_number=number,
                result={"ok": result.ok, "code": result.code, "data": result.data},
                created_at=tx.now,
            )
        )
        tx.session.flush()

    def _keyed(
        self,
        tx: _Tx,
        *,
        key: str | None,
        operation: str,
        customer_id: int | None,
        number: str | None,
        apply: Callable[[], Result],
    ) -> Result:
        """Idempotency around ``apply``: replay the stored answer, or store the new one."""
        key = _storable_key(key) if key else None
        if key:
            replay = self._replay(tx.session, key, operation, customer_id, number)
            if replay is not None:
                return replay
        result = apply()
        if key and result.ok and not result.duplicate:
            self._remember(tx, key, operation, customer_id, number, result)
        return result

    @staticmethod
    def _owned_order(
        session: Session, number: str, customer_id: int, *, lock: bool = False, details: bool = False
    ) -> Order | None:
        """The order if it exists AND is this customer's; None in every other case."""
        stmt = select(Order).where(Order.number == number, Order.customer_id == customer_id)
        if lock:
            stmt = stmt.with_for_update()
        if details:
            stmt = stmt.options(*(_ORDER_DETAILS_LOCKED if lock else _ORDER_DETAILS))
            return session.execute(stmt).unique().scalar_one_or_none()
        return session.execute(stmt).scalar_one_or_none()

    def _check(
        self, order_number: str, customer_id: int, evaluate: Callable[[Order, datetime], Result]
    ) -> Result:
        number = normalize_order_number(order_number)
        if number is None:
            return Result.of(False, Code.INVALID_ORDER_NUMBER, order_number=str(order_number))
        with self._read() as session:
            order = self._owned_order(session, number, customer_id, details=True)
            return _not_found(number) if order is None else evaluate(order, self.now())

    def _order_write(
        self,
        *,
        operation: str,
        order_number: str,
        customer_id: int,
        idempotency_key: str | None,
        channel: str,
        apply: Callable[[_Tx, Order], Result],
    ) -> Result:
        """A customer's write on one of their orders: lock it, replay or apply, remember."""
        number = normalize_order_number(order_number)
        if number is None:
            return Result.of(False, Code.INVALID_ORDER_NUMBER, order_number=str(order_number))

        def work(tx: _Tx) -> Result:
            order = self._owned_order(tx.session, number, customer_id, lock=True)
            if order is None:
                return _not_found(number)
            return self._keyed(
                tx,
                key=idempotency_key,
                operation=operation,
                customer_id=customer_id,
                number=number,
                apply=lambda: apply(tx, order),
            )

        return self._write(work, actor=_customer_actor(customer_id), channel=channel)
