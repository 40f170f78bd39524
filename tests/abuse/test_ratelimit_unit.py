"""The rate limiter on its own (no servers): window, cooldown, bounded memory, key derivation."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.skills import ratelimit
from actions.skills.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracker(sender: str = "s1", channel: str = "rest") -> Tracker:
    return Tracker(sender, {}, {}, [{"event": "user", "input_channel": channel, "text": "x"}], False, None, None, None)


def test_locks_after_max_failures_for_the_cooldown_then_forgets():
    clock = Clock()
    limiter = RateLimiter(max_failures=3, window=60, cooldown=300, max_keys=100, clock=clock)
    assert limiter.failure(["a"]) == 0 and limiter.failure(["a"]) == 0
    assert limiter.retry_after(["a"]) == 0
    assert limiter.failure(["a"]) == 300
    clock.now += 299
    assert 0 < limiter.retry_after(["a", "b"]) <= 1
    clock.now += 2
    assert limiter.retry_after(["a"]) == 0
    assert limiter.failure(["a"]) == 0  # a fresh budget after the cooldown


def test_failures_outside_the_window_expire():
    clock = Clock()
    limiter = RateLimiter(max_failures=3, window=60, cooldown=300, max_keys=100, clock=clock)
    limiter.failure(["a"])
    limiter.failure(["a"])
    clock.now += 61
    assert limiter.failure(["a"]) == 0
    assert limiter.retry_after(["a"]) == 0


def test_any_locked_key_refuses_and_memory_is_bounded():
    limiter = RateLimiter(max_failures=1, window=60, cooldown=60, max_keys=50)
    limiter.failure(["contact:x"])
    assert limiter.retry_after(["sender:new", "contact:x"]) > 0
    for i in range(1000):
        limiter.failure([f"sender:{i}"])
    assert len(limiter) == 50
    assert limiter.retry_after(["sender:999"]) > 0 and limiter.retry_after(["sender:0"]) == 0


def test_keys_fold_contacts_and_hide_them():
    t = tracker()
    email = ratelimit.keys(t, contact=" Oliver.Smith@Example.co.uk ")
    assert email == ratelimit.keys(t, contact="oliver.smith@example.co.uk")
    phones = {tuple(ratelimit.keys(t, contact=c)) for c in ("0712 345 678", "+254712345678", "254-712-345-678")}
    assert len(phones) == 1
    assert all("oliver" not in key and "712345678" not in key for key in email + list(phones.pop()))
    assert ratelimit.keys(t)[0] != ratelimit.keys(tracker(channel="telegram"))[0]
    assert len(ratelimit.keys(t, contact="x@y.z", order_number="8170 0345 0000 0001")) == 3
