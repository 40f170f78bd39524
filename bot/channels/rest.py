"""Rasa's REST channel, refusing sender ids that belong to the messaging channels.

A REST client chooses its sender id, and the sender id is the conversation: a client that sent
``"sender": "100003"`` would continue Telegram user 100003's conversation, including an identity
verified there. Sender ids shaped like a Telegram chat id, a phone number / ``whatsapp:+...`` or
a Slack user id are therefore refused with 400; everything else behaves as Rasa's channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.identity import is_platform_sender_id

MAX_SENDER_CHARS = 128


class RestInput(RasaRestInput):
    """``/webhooks/rest/webhook`` with a sender-id check (name: ``rest``)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.on_request
        async def check_sender(request: Request):  # type: ignore[no-untyped-def]
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises on malformed JSON
                return response.json({"error": "the body must be JSON"}, status=400)
            sender = body.get("sender") if isinstance(body, dict) else None
            if sender is None:
                return None
            if not isinstance(sender, str) or len(sender) > MAX_SENDER_CHARS or is_platform_sender_id(sender):
                return response.json(
                    {"error": "this sender id is reserved for the messaging channels; choose another one"},
                    status=400,
                )
            return None

        return blueprint
