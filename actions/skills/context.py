"""What every skill needs from a conversation: who is talking, in which language, which order.

The rasa-sdk actions are thin adapters: they read the tracker, ask the order service
(``actions.orders``) and choose a response by name. Every user-facing text lives in the domain
(``bot/domain``), where the ``language`` slot selects the English, French or Swahili variation.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker

from actions.formats import normalize_order_number
from actions.identity import customer_from_token, message_token, sign_in_state, trusted_identity
from actions.orders import OrderService, get_service
from actions.orders.views import OrderView
from actions.skills.localise import Localiser

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The slot that holds a verification by order number + account e-mail/phone (never a token's or a
# channel's identity): {"customer": id, "at": epoch seconds, "channel": input channel,
# "sign_in": sign_in_state of the message}. See ``verified_customer``.
VERIFICATION_SLOT = "customer_id"
DEFAULT_VERIFICATION_TTL = 900
EXTERNAL_PREFIX = "EXTERNAL: "  # text of the user event Rasa adds for a reminder / trigger_intent


class ServiceUnavailable(Exception):
    """The order database or service could not be reached; nothing was written."""


async def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Runs a blocking service call in a worker thread; storage errors become ServiceUnavailable."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any storage failure means "nothing happened"
        logger.exception("order service call %s failed", getattr(fn, "__name__", fn))
        raise ServiceUnavailable(str(exc)) from exc


def service() -> OrderService:
    return get_service()


def is_external(event: dict[str, Any]) -> bool:
    """A user event Rasa made itself (a reminder firing, the HTTP API's trigger_intent), not a
    message. The open channels drop ``is_external`` from client metadata (bot/channels/limits.py),
    so a client cannot dress a message up as one."""
    metadata = event.get("metadata") or {}
    return (isinstance(metadata, dict) and metadata.get("is_external") is True
            and str(event.get("text") or "").startswith(EXTERNAL_PREFIX))


def user_messages(tracker: Tracker) -> list[dict[str, Any]]:
    """The user's own messages in the tracker (reminders and triggered intents left out), oldest first."""
    return [e for e in tracker.events if e.get("event") == "user" and not is_external(e)]


def current_message(tracker: Tracker) -> dict[str, Any]:
    """The message identity is judged on: the latest one the user sent. On a reminder's turn that is
    the last message before it, whose token is checked again now (an expired one names nobody)."""
    messages = user_messages(tracker)
    return messages[-1] if messages else {}


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """The intent the NLU read in the latest message and its confidence; (None, 0.0) before any."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def faq_topic(tracker: Tracker) -> str | None:
    """The FAQ topic the NLU selected for the latest message ("cancel_how"), or None."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") or ""
    return key.split("/", 1)[1] if key.startswith("faq/") else None


def latest_user_metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = current_message(tracker).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def verification_ttl() -> float:
    try:
        return max(1.0, float(os.environ.get("VERIFICATION_TTL_SECONDS") or DEFAULT_VERIFICATION_TTL))
    except ValueError:
        return float(DEFAULT_VERIFICATION_TTL)


def session_started_at(tracker: Tracker) -> float:
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return float(event.get("timestamp") or 0.0)
    return 0.0


def verification(tracker: Tracker, customer: int, now: float | None = None) -> dict[str, Any]:
    """The slot value that records "this conversation proved to be ``customer`` by e-mail/phone"."""
    return {"customer": int(customer), "at": time.time() if now is None else now,
            "channel": channel_name(tracker), "sign_in": sign_in_state(latest_user_metadata(tracker))}


def verified_customer(tracker: Tracker, now: float | None = None) -> int | None:
    """The customer verified by e-mail/phone in this conversation, while that still holds.

    A verification ends: after ``VERIFICATION_TTL_SECONDS``; with the session (Rasa carries slots
    into a new session, so one older than the session start is void); on another input channel;
    and as soon as a message's sign-in state differs from the one it was made in (signing in or
    out, or another token): nothing verified before a sign-out is reused after it.
    """
    record = tracker.get_slot(VERIFICATION_SLOT)
    if not isinstance(record, dict):
        return None  # also a bare id from before verifications expired: verify again
    try:
        customer, at = int(record["customer"]), float(record["at"])
    except (KeyError, TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    if not (at - 60 <= now <= at + verification_ttl()) or at < session_started_at(tracker):
        return None
    if record.get("channel") != channel_name(tracker):
        return None
    since = [e for e in user_messages(tracker) if float(e.get("timestamp") or 0.0) >= at]
    for event in [*since, current_message(tracker)]:
        if sign_in_state(event.get("metadata")) != record.get("sign_in"):
            return None
    return customer


async def identify(tracker: Tracker) -> int | None:
    """The customer proven to be talking now, or None.

    * A message that carries a website token is judged on that token alone: valid (secret,
      audience, issuer, expiry) -> its customer; otherwise nobody, except a verification by
      e-mail/phone made since under that same token state.
    * Telegram, WhatsApp and Slack: the platform's user id mapped through the identity table
      (never an SMS number).
    * Otherwise a verification by order number + e-mail/phone (``verified_customer``).
    Nothing else: the ``customer_id`` slot only ever holds e-mail/phone verifications.
    """
    metadata = latest_user_metadata(tracker)
    has_token, token = message_token(metadata)
    if has_token:
        customer = customer_from_token(token)
        if customer is not None:
            return customer
    else:
        entry = trusted_identity(channel_name(tracker), tracker.sender_id)
        if entry is not None:
            customer = await call(service().customer_for_identity, channel=entry[0], external_id=entry[1])
            if customer is not None:
                return customer
    return verified_customer(tracker)


def normalise_order_number(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def plausible_order_number(digits: str) -> bool:
    """An order number has exactly ORDER_NUMBER_DIGITS digits (actions/formats.py): anything else gets
    "that doesn't look like an order number" at once, without a verification attempt."""
    return normalize_order_number(digits) is not None


def language(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "en"


def channel_name(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def localiser(tracker: Tracker, order: OrderView | None = None) -> Localiser:
    """Writes facts in the conversation's language, with the order owner's locale and time zone
    (the defaults of the language when there is no order yet): see ``actions/skills/localise.py``."""
    if order is None:
        return Localiser(language(tracker))
    return Localiser(language(tracker), order.customer_locale, order.customer_time_zone)


def order_vars(order: OrderView, loc: Localiser) -> dict[str, Any]:
    """Template variables that describe an order, written for this conversation."""
    items = ", ".join(
        f"{item.quantity} × {item.title}" if item.quantity > 1 else item.title for item in order.items
    )
    tracking = order.shipment.tracking_number if order.shipment else "-"
    return {
        "order_id": order.number,
        "items": items or "-",
        "amount": loc.money(order.amount, order.currency),
        "currency": order.currency,
        "seller": order.seller,
        "tracking_number": tracking,
        "paid_date": loc.day(order.paid_at or order.created_at),
    }


def idempotency_key(tracker: Tracker, operation: str, order_number: str) -> str:
    """Same conversation + operation + order + form run -> same key, so a replayed "yes" is one write."""
    started = 0.0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            started = event.get("timestamp") or 0.0
            break
    return f"{tracker.sender_id}:{operation}:{order_number}:{started}"
