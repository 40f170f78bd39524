"""Slows down guessing: failed order / account verifications are limited per sender and per target.

A failed verification is an order number + e-mail/phone that do not match (``validate_contact``)
or an order number an identified customer does not own (``validate_order_id``). Each failure is
counted under several keys:

* ``sender``: the conversation (channel + sender id), always;
* ``contact`` and ``order``: the e-mail/phone typed and the order number tried, when someone
  proves who they are by order number + contact (REST, web chat without a token). A client can
  choose a new sender id for every request, so these keys are what stops someone trying many
  order numbers against one account, or many contacts against one order, from many senders.

When a key reaches ``VERIFY_MAX_FAILURES`` failures within ``VERIFY_WINDOW_SECONDS`` it is locked
for ``VERIFY_COOLDOWN_SECONDS``: verifications involving it are refused with ``utter_rate_limited``
before the order database is asked anything. A refused attempt does not extend the cooldown, and a
success does not erase earlier failures (they expire with the window).

The state lives in the action-server process only, in a bounded LRU dict (``VERIFY_MAX_TRACKED``
keys; the least recently used key is forgotten first): no table, no schema change, nothing about
customers is persisted (keys are salted SHA-256 digests). A restart forgets the counts, and each
action-server worker / instance counts on its own, so with N workers an attacker gets up to N times
the budget (still a fixed, small number per cooldown).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.skills.localise import Localiser

DEFAULTS = {
    "VERIFY_MAX_FAILURES": 5,
    "VERIFY_WINDOW_SECONDS": 600,
    "VERIFY_COOLDOWN_SECONDS": 900,
    "VERIFY_MAX_TRACKED": 10_000,
}
_SALT = secrets.token_bytes(16)  # per process: digests are not comparable across restarts


def _setting(name: str) -> int:
    try:
        return max(1, int(os.environ.get(name) or DEFAULTS[name]))
    except ValueError:
        return DEFAULTS[name]


@dataclass
class _Entry:
    failures: deque = field(default_factory=deque)
    locked_until: float = 0.0


class RateLimiter:
    """Failures per key in a sliding window; a key that reaches the limit is locked for a cooldown."""

    def __init__(self, max_failures: int, window: float, cooldown: float, max_keys: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.cooldown = cooldown
        self.max_keys = max_keys
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, keys: list[str]) -> float:
        """Seconds until every key is usable again (0: none is locked)."""
        now = self.clock()
        with self._lock:
            waits = [entry.locked_until - now for key in keys
                     if (entry := self._entries.get(key)) is not None and entry.locked_until > now]
        return max(waits, default=0.0)

    def failure(self, keys: list[str]) -> float:
        """Counts one failure on every key; returns the cooldown when one of them is now locked."""
        now = self.clock()
        locked = 0.0
        with self._lock:
            for key in keys:
                entry = self._entries.pop(key, None) or _Entry()
                self._entries[key] = entry  # most recently used last
                while entry.failures and entry.failures[0] <= now - self.window:
                    entry.failures.popleft()
                entry.failures.append(now)
                while len(entry.failures) > self.max_failures:
                    entry.failures.popleft()
                if len(entry.failures) >= self.max_failures and entry.locked_until <= now:
                    entry.locked_until = now + self.cooldown
                    entry.failures.clear()
                if entry.locked_until > now:
                    locked = max(locked, entry.locked_until - now)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
        return locked

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_limiter: RateLimiter | None = None
_limiter_lock = threading.Lock()


def limiter() -> RateLimiter:
    """The action server's limiter, configured from the environment on first use."""
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            _limiter = RateLimiter(
                _setting("VERIFY_MAX_FAILURES"), _setting("VERIFY_WINDOW_SECONDS"),
                _setting("VERIFY_COOLDOWN_SECONDS"), _setting("VERIFY_MAX_TRACKED"),
            )
        return _limiter


def _digest(kind: str, value: str) -> str:
    return kind + ":" + hashlib.sha256(_SALT + value.encode("utf-8", "replace")).hexdigest()[:32]


def _contact_key(contact: str) -> str | None:
    text = contact.strip().casefold()
    if "@" in text:
        return _digest("contact", text)
    digits = re.sub(r"\D", "", text)
    # +254 712 345 678, 0712 345 678 and 254712345678 are the same phone: key on the last 9 digits.
    return _digest("contact", digits[-9:]) if len(digits) >= 6 else None


def keys(tracker: Tracker, *, contact: Any = None, order_number: Any = None) -> list[str]:
    found = [_digest("sender", f"{tracker.get_latest_input_channel() or ''}:{tracker.sender_id}")]
    if contact:
        key = _contact_key(str(contact)[:200])
        if key:
            found.append(key)
    if order_number:
        found.append(_digest("order", re.sub(r"\D", "", str(order_number))[:32]))
    return found


def refused(tracker: Tracker, dispatcher: CollectingDispatcher, **targets: Any) -> bool:
    """True (and the user told, politely, in their language) when a key is in its cooldown."""
    wait = limiter().retry_after(keys(tracker, **targets))
    if wait <= 0:
        return False
    # "in 1 minute", "dans 15 minutes", "baada ya dakika 15": plural rules of the user's language.
    retry_in = Localiser(tracker.get_slot("language") or "en").retry_in(60 * max(1, math.ceil(wait / 60)))
    dispatcher.utter_message(response="utter_rate_limited", retry_in=retry_in)
    return True


def failed(tracker: Tracker, **targets: Any) -> None:
    """Counts a failed verification for the sender and the targets."""
    limiter().failure(keys(tracker, **targets))
