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
from collections.abc import Callable
from typing import Any, TypeVar

import jwt
from rasa_sdk import Tracker

from actions.orders import OrderService, get_service
from actions.orders.views import OrderView
from actions.skills.localise import Localiser
from bot.channels.identity import channel_identity

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Channels whose sender id is asserted by the messaging platform itself (a Telegram user id, a
# WhatsApp number, a Slack user), so it identifies the customer through the identity table.
# REST and socket.io sender ids are chosen by the client and never trusted on their own.
TRUSTED_CHANNELS = {"telegram", "twilio", "slack"}
TOKEN_KEYS = ("auth_token", "token")
MIN_ORDER_DIGITS, MAX_ORDER_DIGITS = 12, 19


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


def latest_user_metadata(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            return metadata if isinstance(metadata, dict) else {}
    return {}


def customer_from_token(token: Any) -> int | None:
    """Customer id from a website token: HS256, signed with AUTH_JWT_SECRET, unexpired."""
    secret = os.environ.get("AUTH_JWT_SECRET", "")
    if not secret or not isinstance(token, str) or len(token) > 4096:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        logger.info("rejected an invalid or expired website token")
        return None


async def identify(tracker: Tracker) -> int | None:
    """The customer proven to be talking, or None.

    Sources, strongest first: a valid signed token in the message metadata (website), the
    messaging channel's own user id mapped through the identity table, and a verification done
    earlier in this conversation (order number + account e-mail/phone, ``customer_id`` slot).
    """
    metadata = latest_user_metadata(tracker)
    for key in TOKEN_KEYS:
        if key in metadata:
            customer = customer_from_token(metadata[key])
            if customer is not None:
                return customer
    channel = tracker.get_latest_input_channel()
    if channel in TRUSTED_CHANNELS:
        # Twilio's "whatsapp:+254..." is the WhatsApp identity "+254..." (bot/channels/identity.py).
        identity_channel, external_id = channel_identity(channel, tracker.sender_id)
        customer = await call(service().customer_for_identity, channel=identity_channel, external_id=external_id)
        if customer is not None:
            return customer
    verified = tracker.get_slot("customer_id")
    return int(verified) if verified not in (None, "") else None


def normalise_order_number(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def plausible_order_number(digits: str) -> bool:
    return MIN_ORDER_DIGITS <= len(digits) <= MAX_ORDER_DIGITS


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
