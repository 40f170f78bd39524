"""Rasa's REST channel with the checks a public endpoint needs.

A REST client chooses its sender id, and the sender id is the conversation: a client that sent
``"sender": "100003"`` would continue Telegram user 100003's conversation, including an identity
verified there. Sender ids shaped like a Telegram chat id, a phone number / ``whatsapp:+...`` or
a Slack user id are therefore refused with 400. So is a request without a sender: Rasa would put
it in the conversation ``default``, shared by every such client (with the identity verified in it).

Bodies that are not a JSON object, and messages that are not text, get 400 instead of Rasa's 500.
Lone UTF-16 surrogates are dropped, and so is metadata only Rasa may set (``is_external``: a
message posing as a reminder). Messages are cut at ``max_message_chars`` (CHAT_MAX_MESSAGE_CHARS,
as on socket.io): nobody types more in a support chat, and parsing a 100 KB message would hold the server's event loop.
Everything else behaves as Rasa's channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request

from actions.identity import is_platform_sender_id
from bot.channels.limits import DEFAULT_MAX_MESSAGE_CHARS, clean_message, client_metadata, int_setting
from bot.server_gc import freeze_after_start

MAX_SENDER_CHARS = 128


def _refuse(error: str) -> response.HTTPResponse:
    return response.json({"error": error}, status=400)


class RestInput(RasaRestInput):
    """``/webhooks/rest/webhook`` with sender, body and length checks (name: ``rest``)."""

    max_message_chars = DEFAULT_MAX_MESSAGE_CHARS

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        channel = cls()
        channel.max_message_chars = int_setting((credentials or {}).get("max_message_chars"),
                                                DEFAULT_MAX_MESSAGE_CHARS)
        return channel

    def _extract_message(self, req: Request) -> str | None:
        text = req.json.get("message")
        return clean_message(text, self.max_message_chars) if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return client_metadata(super().get_metadata(request))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        freeze_after_start(blueprint)  # every server has this channel: bot/server_gc.py

        @blueprint.on_request
        async def check_sender(request: Request):  # type: ignore[no-untyped-def]
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises on malformed JSON
                return _refuse("the body must be JSON")
            if not isinstance(body, dict):
                return _refuse('the body must be a JSON object: {"sender": "...", "message": "..."}')
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender.strip():
                return _refuse("a sender id is required: a string that identifies this conversation")
            if len(sender) > MAX_SENDER_CHARS:
                return _refuse(f"the sender id is longer than {MAX_SENDER_CHARS} characters")
            if is_platform_sender_id(sender):
                return _refuse("this sender id is reserved for the messaging channels; choose another one")
            if body.get("message") is not None and not isinstance(body["message"], str):
                return _refuse("the message must be text")
            return None

        return blueprint
