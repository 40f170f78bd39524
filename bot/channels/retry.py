"""Sending to a messaging platform: retries on 429 / 5xx, and a log line for what is lost.

Telegram, Twilio and Slack answer 429 when the bot sends too fast (with ``Retry-After``, or
Telegram's ``parameters.retry_after``) and 5xx when they have trouble of their own; both pass.
Each output channel wraps one API call in :func:`send_with_retries`: the call raises
:class:`Retryable` for those answers (and for a connection that could not be made), and is tried
again after the platform's ``Retry-After`` or an exponential backoff. Waiting happens while Rasa
holds the conversation's lock, so the waiting per message is bounded (a ``Retry-After`` beyond
the bound gives up at once rather than retrying early). A message that still fails, or that the
platform refuses outright (4xx), is logged at ERROR with its conversation id; the output channels
then drop it, so one undeliverable message does not lose the turn (Rasa would not save a turn
whose output channel raised).

Settings (environment): ``CHANNEL_SEND_ATTEMPTS`` (4), ``CHANNEL_RETRY_BASE_SECONDS`` (1),
``CHANNEL_RETRY_MAX_WAIT_SECONDS`` (20).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Retryable(Exception):
    """The platform asked us to come back later (429, 5xx) or could not be reached."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class NotDelivered(Exception):
    """The platform refused the message (4xx other than 429), or it may have been sent (a timeout):
    trying again would not help, or could send it twice."""


def retry_after_seconds(value: Any, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _number(environ: Mapping[str, str], key: str, default: float, low: float) -> float:
    try:
        return max(low, float(environ.get(key) or default))
    except ValueError:
        return default


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 1.0
    max_wait: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        env = os.environ if environ is None else environ
        return cls(
            attempts=int(_number(env, "CHANNEL_SEND_ATTEMPTS", 4, 1)),
            base_delay=_number(env, "CHANNEL_RETRY_BASE_SECONDS", 1.0, 0.0),
            max_wait=_number(env, "CHANNEL_RETRY_MAX_WAIT_SECONDS", 20.0, 0.0),
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the platform's word, else base * 2^(n-1)."""
        return retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)


async def send_with_retries(send: Callable[[], Awaitable[T]], *, platform: str, conversation_id: Any,
                            policy: RetryPolicy | None = None, what: str = "message") -> T:
    """``send()``'s result; NotDelivered (already logged with the conversation id) once it failed
    for good. Other exceptions of ``send`` pass through untouched."""
    policy = policy or RetryPolicy.from_env()
    waited = 0.0
    reason = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await send()
        except Retryable as error:
            reason = error.reason
            if attempt == policy.attempts:
                break
            delay = policy.delay(attempt, error.retry_after)
            if waited + delay > policy.max_wait:
                reason += f" (asked to wait {delay:.0f} s, more than CHANNEL_RETRY_MAX_WAIT_SECONDS allows)"
                break
            logger.warning("%s: %s; %s to conversation %s tried again in %.1f s (attempt %d of %d)",
                           platform, error.reason, what, conversation_id, delay, attempt + 1, policy.attempts)
            waited += delay
            await asyncio.sleep(delay)
        except NotDelivered as error:
            logger.error("%s: %s to conversation %s not delivered: %s", platform, what, conversation_id, error)
            raise
    logger.error("%s: %s to conversation %s not delivered after %d attempt(s): %s",
                 platform, what, conversation_id, attempt, reason)
    raise NotDelivered(reason)
