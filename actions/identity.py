"""Who is talking: the identity rules shared by the channels (``bot/``) and the actions (``actions/``).

This is the one place both sides read identity from; it imports only PyJWT and the standard
library (no Rasa, nothing from ``actions/`` or the rest of ``bot/``), so it can move as one file.

**Messaging channels.** Which entry of the channel-identity table a sender id is:

* Telegram: the chat id of a private chat is the user id -> ``("telegram", "100003")``.
* Twilio: WhatsApp senders arrive as ``whatsapp:+254712345678`` -> ``("whatsapp", "+254712345678")``;
  SMS senders as ``+447700900123`` -> ``("sms", "+447700900123")``. An SMS number is never proof
  of identity (numbers are recycled, and SMS sender ids can be spoofed): ``trusted_identity``
  refuses it even if the table links it, and an SMS sender proves who they are with order
  number + e-mail/phone, like REST.
* Slack: the user id; with ``conversation_granularity`` channel/thread Rasa appends
  ``_<channel>[_<thread>]`` -> ``("slack", "U0AMINA")``.

**Website tokens.** The web chat (and any REST client acting for the website) proves who is
signed in with an HS256 JWT in every message's metadata (``auth_token``): signed with
``AUTH_JWT_SECRET``, ``sub`` = customer id, ``aud`` = ``AUTH_JWT_AUDIENCE``, ``iss`` =
``AUTH_JWT_ISSUER``, ``exp`` required. The demo sign-in (``bot/channels/webchat.py``) issues
them with :func:`issue_token`; the actions check them with :func:`customer_from_token`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

logger = logging.getLogger(__name__)

# --- messaging channels ---------------------------------------------------------------------------

# Sender ids a messaging channel produces. Clients of the open channels (REST, socket.io) choose
# their sender id themselves, so they must not be able to pick one of these and continue (and
# inherit the verified identity of) a Telegram, WhatsApp/SMS or Slack conversation.
_TELEGRAM_CHAT = re.compile(r"-?\d+")
_PHONE = re.compile(r"(?:whatsapp:)?\+?\d[\d\s]*", re.IGNORECASE)
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}(?:_.*)?")  # optionally _channel[_thread]

# Identity-table channels whose sender id the platform asserts: the table may say who they are.
PLATFORM_ASSERTED = frozenset({"telegram", "whatsapp", "slack"})


def channel_identity(channel: str, sender_id: str) -> tuple[str, str]:
    """(channel, external id) to look up in the identity table for a message's channel and sender."""
    channel = (channel or "").strip().lower()
    sender = str(sender_id or "").strip()
    if channel == "twilio":
        if sender.lower().startswith("whatsapp:"):
            return "whatsapp", sender.split(":", 1)[1].strip()
        return "sms", sender
    if channel == "slack":
        return "slack", sender.split("_", 1)[0]
    return channel, sender


def trusted_identity(channel: str, sender_id: str) -> tuple[str, str] | None:
    """The identity-table entry to trust for this message, or None (REST, socket.io, SMS)."""
    identity_channel, external_id = channel_identity(channel, sender_id)
    return (identity_channel, external_id) if identity_channel in PLATFORM_ASSERTED and external_id else None


def is_platform_sender_id(sender_id: str) -> bool:
    """True when a sender id has the shape of a Telegram, Twilio or Slack conversation id."""
    sender = str(sender_id or "").strip()
    return any(p.fullmatch(sender) for p in (_TELEGRAM_CHAT, _PHONE, _SLACK_USER))


# --- website tokens -------------------------------------------------------------------------------

TOKEN_ALGORITHM = "HS256"
TOKEN_KEYS = ("auth_token", "token")  # metadata keys a message may carry its token under
DEFAULT_AUDIENCE = "marketplace-support-chat"
DEFAULT_ISSUER = "marketplace-website"
MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    audience: str = DEFAULT_AUDIENCE
    issuer: str = DEFAULT_ISSUER

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenSettings:
        env = os.environ if environ is None else environ
        return cls(
            secret=env.get("AUTH_JWT_SECRET", "") or "",
            audience=(env.get("AUTH_JWT_AUDIENCE") or "").strip() or DEFAULT_AUDIENCE,
            issuer=(env.get("AUTH_JWT_ISSUER") or "").strip() or DEFAULT_ISSUER,
        )


def issue_token(customer_id: int, ttl: int, settings: TokenSettings | None = None,
                now: float | None = None) -> str:
    """A token for ``customer_id`` valid ``ttl`` seconds (what the website's login hands the chat)."""
    settings = settings or TokenSettings.from_env()
    if not settings.secret:
        raise ValueError("AUTH_JWT_SECRET is not set")
    issued = int(now if now is not None else time.time())
    claims = {"sub": str(customer_id), "aud": settings.audience, "iss": settings.issuer,
              "iat": issued, "exp": issued + int(ttl)}
    return jwt.encode(claims, settings.secret, algorithm=TOKEN_ALGORITHM)


def customer_from_token(token: Any, settings: TokenSettings | None = None) -> int | None:
    """The customer a website token names, or None: wrong secret, audience or issuer, expired,
    missing claim, another algorithm, not a token. No leeway: an expired token is expired."""
    settings = settings or TokenSettings.from_env()
    if not settings.secret or not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        claims = jwt.decode(
            token, settings.secret, algorithms=[TOKEN_ALGORITHM], audience=settings.audience,
            issuer=settings.issuer, options={"require": ["exp", "sub", "aud", "iss"]},
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        logger.info("rejected a website token: %s", type(error).__name__)
        return None


def message_token(metadata: Any) -> tuple[bool, Any]:
    """(whether the message carries a token, the token) from a message's metadata."""
    if not isinstance(metadata, Mapping):
        return False, None
    for key in TOKEN_KEYS:
        if key in metadata and metadata[key] not in (None, ""):
            return True, metadata[key]
    return False, None


def sign_in_state(metadata: Any) -> str:
    """What a message says about sign-in, as a short fingerprint: "" when it carries no token, else
    a hash of the token. A verification by e-mail/phone is kept only while this stays the same:
    a sign-in or sign-out in between ends it (the token itself is never stored)."""
    present, token = message_token(metadata)
    if not present:
        return ""
    return hashlib.sha256(str(token).encode("utf-8", "replace")).hexdigest()[:24]
