"""The order service: every read and write the assistant does on orders goes through here.

Guarantees
----------
* **Ownership.** ``customer_id`` is who is acting.  An order that exists but belongs to someone
  else is indistinguishable from a nonexistent one (``None`` / ``order_not_found``, same data).
* **One transaction per write**, with an ``audit_log`` row for every change.
* **Idempotency.** A write given an ``idempotency_key`` stores its answer; the same key again
  returns that answer with ``duplicate=True`` and writes nothing.  Independently of keys, the
  natural constraints (one pending cancellation request, one active dispute per order) make a
  second equivalent request return the existing row's id with ``duplicate=True``.
* **Race safety.** Writes lock the order row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  write transactions start with ``BEGIN IMMEDIATE``), the database's unique indexes back the
  rules up, and an ``IntegrityError`` makes the write start over and re-read the state.
* Only frozen dataclasses (:mod:`.views`) come out, never ORM objects.
"""

from __future__ import annotations

from .cancellations import CancellationsMixin
from .core import DEADLINE_JOB_ACTOR, SYSTEM_CHANNEL, ServiceCore
from .deadlines import DeadlinesMixin
from .disputes import DisputesMixin
from .identities import IdentitiesMixin
from .ordering import OrdersMixin
from .refunds import RefundsMixin
from .tickets import TicketsMixin

__all__ = ["DEADLINE_JOB_ACTOR", "SYSTEM_CHANNEL", "OrderService"]


class OrderService(IdentitiesMixin, OrdersMixin, CancellationsMixin, DisputesMixin, RefundsMixin, TicketsMixin,
                   DeadlinesMixin, ServiceCore):
    """See the module docstring.  All public methods take keyword arguments.

    One facade, one part per aggregate (``identities``, ``ordering``, ``cancellations``, ``disputes``,
    ``refunds``, ``tickets``, ``deadlines``) over the transaction core (``core``); the seller's side
    is not part of it (``seller.py``: demo and tests)."""
