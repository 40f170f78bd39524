"""Support triage over HTTP, inside the Rasa server: ``POST /webhooks/triage/``.

Enable it in ``bot/credentials.yml``::

    bot.triage.channel.TriageInput:

Request (a support tool, not a customer)::

    POST /webhooks/triage/?token=<RASA_AUTH_TOKEN>          (or Authorization: Bearer <token>)
    {"messages": [{"id": "m1", "text": "...", "email": "...", "channel": "...", "sender": "..."}]}

Response: ``{"rows": [...], "malformed": [...], "summary": {...}}``; each row as the CLI writes
it (``index``: position in ``messages``, 0-based), malformed items with their index and why.
Messages are parsed by the server's own agent (``request.app.ctx.agent.parse_message``), one
at a time, yielding to the event loop between messages so chats on the same server keep
flowing; order-service look-ups run in a worker thread. Nothing is written anywhere and no
conversation is started: ``on_new_message`` is never called.

The answer can say whether an e-mail / phone owns an order, so the endpoint always requires a
token: ``token`` in the credentials, else the ``TRIAGE_TOKEN`` or ``RASA_AUTH_TOKEN`` environment
variable (``make run`` sets the latter and prints it). Without any token it answers 503.
``max_messages`` (default 100) caps one request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.triage import nlu
from bot.triage.engine import Triager
from bot.triage.records import Inbound, Malformed, message_from_mapping
from bot.triage.replies import Replies
from bot.triage.report import Summary

logger = logging.getLogger(__name__)
DEFAULT_MAX_MESSAGES = 100


class TriageInput(InputChannel):
    """Read-only triage endpoint; see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "triage"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TriageInput:
        credentials = credentials or {}
        return cls(token=credentials.get("token"),
                   max_messages=int(credentials.get("max_messages") or DEFAULT_MAX_MESSAGES))

    def __init__(self, token: str | None = None, max_messages: int = DEFAULT_MAX_MESSAGES) -> None:
        self._token = token
        self.max_messages = max_messages
        self._triagers: dict[int, Triager] = {}

    def token(self) -> str | None:
        """Read at request time: the launcher may set RASA_AUTH_TOKEN after this is built."""
        return self._token or os.environ.get("TRIAGE_TOKEN") or os.environ.get("RASA_AUTH_TOKEN") or None

    def authorised(self, request: Request) -> bool | None:
        """True / False; None when no token is configured at all (the endpoint is off)."""
        expected = self.token()
        if not expected:
            return None
        given = request.args.get("token") or ""
        header = request.headers.get("Authorization") or ""
        if not given and header.lower().startswith("bearer "):
            given = header[7:].strip()
        return hmac.compare_digest(given.encode(), expected.encode())

    def triager(self, agent: Any) -> Triager:
        """One per loaded model: replies come from the served model's own domain."""
        key = id(agent.domain)
        if key not in self._triagers:
            self._triagers = {key: Triager(Replies.from_domain(agent.domain))}
        return self._triagers[key]

    async def triage(self, agent: Any, items: list[Any]) -> dict[str, Any]:
        triager = self.triager(agent)
        summary = Summary()
        rows, malformed = [], []
        for index, item in enumerate(items):
            record = message_from_mapping(item, line=index + 1)
            if isinstance(record, Malformed):
                summary.add_malformed(record)
                malformed.append({"index": index, "id": record.id, "error": record.error})
                continue
            assert isinstance(record, Inbound)
            parse = await nlu.parse_one(agent, nlu.prepare_text(record.text))
            try:
                row = await asyncio.to_thread(triager.triage, record, parse)
            except Exception as error:  # noqa: BLE001 - reported per message
                logger.exception("triage of message %s failed", index)
                failure = Malformed(index + 1, f"{type(error).__name__}: {error}", record.id)
                summary.add_failed(failure)
                malformed.append({"index": index, "id": record.id, "error": failure.error, "failed": True})
                continue
            row = {"index": index, **{k: v for k, v in row.items() if k != "line"}}
            rows.append(row)
            summary.add(row)
            await asyncio.sleep(0)  # let other requests (chats) run between messages
        counts = summary.to_dict()
        for key in ("malformed_rows", "failed_rows", "malformed_rows_truncated"):
            counts.pop(key)
        return {"rows": rows, "malformed": malformed, "summary": counts}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        triage_webhook = Blueprint("triage_webhook", __name__)

        @triage_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @triage_webhook.route("/", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            allowed = self.authorised(request)
            if allowed is None:
                return response.json({"error": "triage is disabled: no token configured"}, status=503)
            if not allowed:
                return response.json({"error": "missing or wrong token"}, status=401)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - sanic raises InvalidUsage on bad JSON
                body = None
            items = body.get("messages") if isinstance(body, dict) else None
            if not isinstance(items, list):
                return response.json({"error": 'expected a JSON body {"messages": [...]}'}, status=400)
            if len(items) > self.max_messages:
                return response.json(
                    {"error": f"{len(items)} messages; at most {self.max_messages} per request"}, status=413
                )
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded yet"}, status=503)
            return response.json(await self.triage(agent, items), ensure_ascii=False)

        return triage_webhook
