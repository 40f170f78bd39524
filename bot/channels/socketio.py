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
* transport: websockets, with HTTP long-polling as the fallback (``websockets: false`` in the
  credentials, ``WEBCHAT_WEBSOCKETS=false``, serves long-polling only). Sanic 21.12, the version
  Rasa 3.6 pins, cannot receive websocket messages on Python 3.11 (see :class:`SanicWebSocket`);
  the server mends that in engine.io's Sanic adapter, without touching Sanic or Rasa;
* language: every bot message carries the language of the response variation it came from
  (``"language": "fr"``), so the web chat shows its own texts in the conversation's language;
* several servers: with ``message_queue`` (a Redis URL, ``REDIS_URL``) the servers share
  python-socketio's Redis message queue, so a message for a conversation (e.g. an agent's answer
  from the console, docs/handoff.md) reaches its socket whichever server sends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from engineio.async_drivers.sanic import WebSocket as EngineIOSanicWebSocket
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.connection import CLOSED

from bot.channels.limits import DEFAULT_MAX_MESSAGE_CHARS, clean_message, client_metadata, int_setting

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
LANGUAGES = ("en", "fr", "sw")  # bot/components/language.py (not imported: it loads the NLU stack)


class SanicWebSocket(EngineIOSanicWebSocket):
    """engine.io's Sanic websocket adapter, receiving the way Sanic 22.3 and later do.

    The adapter reads a message with Sanic's ``WebsocketImplProtocol.recv``, which in Sanic 21.12
    hands a bare coroutine to ``asyncio.wait``: deprecated since Python 3.8 and refused by 3.11
    ("Passing coroutines is forbidden"), so every websocket connection died at its first message.
    Sanic fixed it in 22.3 (sanic-org/sanic#2377, #2383) by wrapping the frame assembler's ``get``
    in a task; Rasa 3.6 pins Sanic 21.12 (21.12.2 is its last release) and the newest
    python-engineio still calls ``recv``, so the same receive is done here, through the same
    connection state (``recv_lock``, and ``recv_cancel``, which Sanic resolves when the
    connection closes).
    """

    async def wait(self) -> str | bytes:
        sock = self._sock
        async with sock.recv_lock:
            if sock.connection.state is CLOSED:
                raise OSError("websocket closed")
            cancelled = asyncio.get_running_loop().create_future()
            sock.recv_cancel = cancelled
            get = asyncio.ensure_future(sock.assembler.get())
            try:
                done, _ = await asyncio.wait((cancelled, get), return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                get.cancel()
                raise
            finally:
                sock.recv_cancel = None
                if not cancelled.done():
                    cancelled.cancel()
            if get not in done:
                get.cancel()
                raise OSError("websocket closed")
            data = get.result()
        if not isinstance(data, (bytes, str)):
            raise OSError("websocket closed")
        return data


class EngineIOServer(engineio.AsyncServer):
    """engine.io with :class:`SanicWebSocket` as the Sanic websocket adapter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.async_mode == "sanic" and self._async.get("websocket") is not None:
            # a copy: the driver's table is shared by every server of the process
            self._async = {**self._async, "websocket": SanicWebSocket}


class AsyncServer(socketio.AsyncServer):
    """python-socketio's server on :class:`EngineIOServer`."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return EngineIOServer


def response_language(message: dict[str, Any]) -> str | None:
    """The language of a bot message: its response variation's condition on the ``language`` slot.

    Every response has one variation per language conditioned on that slot (README, "Responses");
    Rasa passes the chosen variation's keys on with the message. Texts built by an action without
    a response have none: the widget then keeps its language.
    """
    for condition in message.get("condition") or ():
        if (
            isinstance(condition, dict) and condition.get("type") == "slot"
            and condition.get("name") == "language" and condition.get("value") in LANGUAGES
        ):
            return condition["value"]
    return None


class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's socket.io output; each message also says its language (:func:`response_language`)."""

    language: str | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.language = response_language(message)
        await super().send_response(recipient_id, message)

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if self.language and isinstance(response, dict):
            response = {**response, "language": self.language}
        await super()._send_message(socket_id, response)


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
        channel.websockets = str(credentials.get("websockets", True)).strip().lower() not in ("false", "0", "no", "off")
        channel.message_queue = str(credentials.get("message_queue") or "").strip()
        return channel

    allowed_origins: list[str] = []
    max_http_buffer_size = 100_000
    max_message_chars = DEFAULT_MAX_MESSAGE_CHARS
    max_metadata_bytes = 8_192
    websockets = True
    message_queue = ""

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
        # origin check is done in `connect` below instead (for both transports).
        transports = ["polling", "websocket"] if self.websockets else ["polling"]
        queue = socketio.AsyncRedisManager(self.message_queue) if self.message_queue else None
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], transports=transports,
            allow_upgrades=self.websockets, max_http_buffer_size=self.max_http_buffer_size, client_manager=queue,
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

