"""The conversation lock shared by several Rasa servers, on its own (no Rasa server): two "servers"
(threads, each with its own event loop and Redis connection) lock the same conversations many times
at once. Each holder must be alone, and nobody may fail to get the lock.

``bot.lock_store.AtomicRedisLockStore`` must have no overlap and no failure. (Rasa's own
``RedisLockStore``, run the same way, let two holders in at once 12 times in 3 rounds and failed
17 acquisitions with ``LockError`` in another 5 rounds; a waiter whose ticket it lost can also hang
until the tickets expire, which is why it is not run here.)
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from rasa.core.lock_store import LockError

from bot.lock_store import AtomicRedisLockStore

pytestmark = pytest.mark.needs_servers

SERVERS, TASKS, CONVERSATIONS = 2, 12, 3


def hammer(store_class, port: int, lifetime: float = 30) -> dict:
    prefix = uuid.uuid4().hex[:8]
    holders: dict[str, int] = {}
    overlaps, errors, done = [], [], []
    guard = threading.Lock()

    async def one(store, conversation: str, i: int) -> None:
        try:
            async with store.lock(conversation, lock_lifetime=lifetime, wait_time_in_seconds=0.005):
                with guard:
                    holders[conversation] = holders.get(conversation, 0) + 1
                    if holders[conversation] > 1:
                        overlaps.append(conversation)
                await asyncio.sleep(0.003)
                with guard:
                    holders[conversation] -= 1
                    done.append(i)
        except LockError as error:
            errors.append(str(error)[:80])

    def server() -> None:
        store = store_class(host="127.0.0.1", port=port, db=0, key_prefix=prefix)

        async def main() -> None:
            await asyncio.gather(*(one(store, f"c{i % CONVERSATIONS}", i) for i in range(TASKS)))

        asyncio.run(main())

    threads = [threading.Thread(target=server, daemon=True) for _ in range(SERVERS)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return {"overlaps": len(overlaps), "errors": len(errors), "done": len(done), "seconds": time.monotonic() - start}


@pytest.mark.timeout(90)
def test_atomic_lock_store_serialises_two_servers(redis_port):
    rounds = [hammer(AtomicRedisLockStore, redis_port) for _ in range(5)]
    for result in rounds:
        assert result["overlaps"] == 0 and result["errors"] == 0, result
        assert result["done"] == SERVERS * TASKS, result
