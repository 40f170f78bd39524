"""A Redis lock store that is safe with several Rasa servers (``lock_store: type: bot.lock_store.AtomicRedisLockStore``).

Rasa 3.6's ``RedisLockStore`` updates a conversation's ticket lock with separate GET and SET
commands. When two messages of one conversation reach two Rasa servers at the same moment, one
server can delete the lock the other has just joined (its message then fails with ``LockError``:
REST answers ``[]`` and the message is dropped), or both can create the lock and take ticket 0 and
process the conversation at the same time, losing or duplicating tracker events (RasaHQ/rasa#9213;
Rasa Pro's ``ConcurrentRedisLockStore`` fixes it, Rasa Open Source does not). This subclass does
every read-modify-write of the lock inside a Redis transaction (``WATCH``/``MULTI``, retried when
another server changed the lock meanwhile), so tickets are issued and released atomically; the lock
format and keys are unchanged.

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: redis.internal      # host
      port: 6379
      db: 0
      key_prefix: marketplace  # alphanumeric
      password: ...            # optional, as for `type: redis`

``url`` may also be a Redis URL (``redis://[:password@]host:port/db``, ``rediss://...``,
``unix:///path/redis.sock?db=0``): the form of ``REDIS_URL``, which ``make run`` uses with several
workers (``bot/cluster.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # `type: bot.lock_store.AtomicRedisLockStore` in endpoints.yml
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        url = str(kwargs.get("host") or "")
        if "://" in url:
            kwargs["host"] = "localhost"
        super().__init__(**kwargs)
        if "://" in url:  # redis-py connects at the first command: nothing was opened above
            timeout = self.red.connection_pool.connection_kwargs.get("socket_timeout")
            self.red = redis.Redis.from_url(url, socket_timeout=timeout)

    def _transact(self, conversation_id: str,
                  change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Applies ``change`` to the stored lock atomically; a returned ``None`` lock is deleted."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock, result = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
                    pipe.multi()
                    if lock is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, lock.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another server changed the lock: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._transact(conversation_id, change)
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._transact(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._transact(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Releases the ticket, and deletes the lock in the same transaction when nobody waits."""
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._transact(conversation_id, change)
