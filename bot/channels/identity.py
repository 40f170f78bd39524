"""Which entry of the channel-identity table a messaging channel's sender id is.

Used by the actions (``actions.skills.context.identify``) and by the channels; no Rasa import.

* Telegram: the chat id of a private chat is the user id -> ``("telegram", "100003")``.
* Twilio: WhatsApp senders arrive as ``whatsapp:+254712345678`` -> ``("whatsapp", "+254712345678")``;
  SMS senders as ``+447700900123`` -> ``("sms", "+447700900123")`` (the demo data links no SMS
  number, so an SMS sender proves who they are with order number + e-mail/phone like REST).
* Slack: the user id; with ``conversation_granularity`` channel/thread Rasa appends
  ``_<channel>[_<thread>]`` -> ``("slack", "U0AMINA")``.
"""

from __future__ import annotations

import re

# Sender ids a messaging channel produces. Clients of the open channels (REST, socket.io) choose
# their sender id themselves, so they must not be able to pick one of these and continue (and
# inherit the verified identity of) a Telegram, WhatsApp/SMS or Slack conversation.
_TELEGRAM_CHAT = re.compile(r"-?\d+")
_PHONE = re.compile(r"(?:whatsapp:)?\+?\d[\d\s]*", re.IGNORECASE)
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}(?:_.*)?")  # optionally _channel[_thread]


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


def is_platform_sender_id(sender_id: str) -> bool:
    """True when a sender id has the shape of a Telegram, Twilio or Slack conversation id."""
    sender = str(sender_id or "").strip()
    return any(p.fullmatch(sender) for p in (_TELEGRAM_CHAT, _PHONE, _SLACK_USER))
