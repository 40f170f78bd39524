"""Rasa's socket.io channel (the web chat's transport) with the checks a public endpoint needs.

Same events and wire format as ``rasa.core.channels.socketio.SocketIOInput`` (rasa-webchat talks
to it unchanged), plus:

* origins: a connection whose ``Origin`` is neither the server itself nor one of ``CORS_ORIGINS``
  is refused (Rasa's channel accepts any origin, so any web site could drive the bot in its
  visitors' browsers); CORS headers of the polling transport stay with Rasa's ``--cors``;
* sessions: a session id is the conversation id, so only ids this server could have issued
  (32 hex digits) are accepted: a client cannot pick a Telegram, WhatsApp or Slack conversation
  id and continue it (with the identity verified there);
* sizes: engine.io's HTTP buffer limit, a message text limit and metadata that must be a small
  JSON object (without ``is_external``, which only Rasa sets);
* transport: HTTP long-polling only (websockets do not work with Sanic 21.12 on Python 3.11).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.limits import DEFAULT_MAX_MESSAGE_CHARS, clean_message, client_metadata, int_setting

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def _origins(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or "").split(",")
    return [item.strip().rstrip("/") for item in items if item and item.strip()]


def same_origin(environ: dict) -> str | None:
    """The origin of the server as the client addressed it (scheme://host[:port])."""
    request = environ.get("sanic.request")
    host = environ.get("HTTP_HOST")
    if not host:
        return None
    scheme = getattr(request, "scheme", None) or environ.get("wsgi.url_scheme") or "http"
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host}"


class SocketIOInput(RasaSocketIOInput):
    """socket.io with origin, session-id and size checks (name and URL: ``socketio``)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SocketIOInput:
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            str(credentials.get("session_persistence", True)).lower() in ("true", "1", "yes"),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        channel.allowed_origins = _origins(credentials.get("allowed_origins"))
        channel.max_http_buffer_size = int_setting(credentials.get("max_http_buffer_size"), 100_000)
        channel.max_message_chars = int_setting(credentials.get("max_message_chars"), DEFAULT_MAX_MESSAGE_CHARS)
        channel.max_metadata_bytes = int_setting(credentials.get("max_metadata_bytes"), 8_192)
        return channel

    allowed_origins: list[str] = []
    max_http_buffer_size = 100_000
    max_message_chars = DEFAULT_MAX_MESSAGE_CHARS
    max_metadata_bytes = 8_192

    def origin_allowed(self, environ: dict) -> bool:
        origin = (environ.get("HTTP_ORIGIN") or "").rstrip("/")
        if not origin:  # not a browser (a browser always sends Origin on websocket/XHR POST)
            return True
        return origin in self.allowed_origins or origin == same_origin(environ)

    def clean_metadata(self, data: dict) -> dict:
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            if len(metadata) > self.max_metadata_bytes:
                return {}
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return {}
        if not isinstance(metadata, dict):
            return {}
        if len(json.dumps(metadata, default=str)) > self.max_metadata_bytes:
            logger.info("dropped oversized socket.io message metadata")
            return {}
        return client_metadata(metadata) or {}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # cors_allowed_origins=[]: engine.io adds no CORS headers (Rasa's --cors does); the
        # origin check is done in `connect` below instead.
        # transports=["polling"]: Sanic 21.12 (pinned by Rasa 3.6) cannot serve websockets on
        # Python 3.11 (its frame reader hands coroutines to asyncio.wait, which 3.11 refuses), so
        # the server offers no upgrade and socket.io clients stay on HTTP long-polling.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], transports=["polling"], allow_upgrades=False,
            max_http_buffer_size=self.max_http_buffer_size,
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if not self.origin_allowed(environ):
                logger.warning("refused a socket.io connection from origin %s", environ.get("HTTP_ORIGIN"))
                return False
            if self.jwt_key:  # Rasa's option: a connection must present a signed token
                token = auth.get("token") if isinstance(auth, dict) else None
                return bool(token) and bool(decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                # awaited: python-socketio 5.x made enter_room a coroutine, and Rasa 3.6's channel
                # does not await it, so its replies to a persistent session reach nobody.
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.match(sender_id):
                    logger.info("ignored a socket.io message without a valid session id")
                    return
            else:
                sender_id = sid
            text = data.get("message", "")
            if not isinstance(text, str):
                return
            text = clean_message(text, self.max_message_chars)
            message = UserMessage(
                text,
                SocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=self.clean_metadata(data),
            )
            await on_new_message(message)

        return socketio_webhook

