"""The agent console, served by the Rasa server itself at ``/agent/`` (an input channel).

Support agents sign in, see the queue of open tickets, open one to read the conversation (live)
and the customer's order, answer, then hand the conversation back to the bot or close the ticket.

* ``GET /agent/``: the console page; ``GET /agent/static/<file>``: its files (``bot/web/agent``),
  nothing from a CDN, every response with a strict Content-Security-Policy;
* ``POST /agent/api/session`` ``{"name", "password"}``: sign-in with the shared agent password
  (``AGENT_CONSOLE_PASSWORD`` in the environment; the name is who the customer and the audit see). The session is
  an HttpOnly, SameSite=Strict cookie for ``/agent`` only, signed with a key derived from that
  password (never the customers' ``AUTH_JWT_SECRET``): the web chat cannot read or forge it.
  Failed sign-ins are counted per client address; ``AGENT_LOGIN_MAX_FAILURES`` within
  ``AGENT_LOGIN_WINDOW_SECONDS`` lock that address for ``AGENT_LOGIN_COOLDOWN_SECONDS`` (429,
  even with the right password). ``DELETE`` signs out;
* ``GET /agent/api/tickets?queue=&language=&priority=&status=``: the queue (open and in progress
  by default), first answer due soonest first;
* ``GET /agent/api/tickets/<T-...>``: a ticket, its customer and that customer's orders (through
  the order service, nothing else), and the conversation's messages; ``.../messages?after=N`` the
  messages from the N-th on (the page polls it). Conversations are reachable only through a
  ticket: there is no URL that takes a conversation id;
* ``POST .../reply`` ``{"text"}``: the answer reaches the customer on their channel (web chat,
  Telegram, WhatsApp/SMS, Slack; a REST client gets it with its next message) and is recorded in
  the conversation as the agent's (``utter_agent_message``: "<name> (support team): ...");
* ``POST .../handback`` and ``POST .../close``: the ticket is handed back / closed (status,
  moment, agent, audit row), the conversation resumes and the bot greets the customer in their
  language (``utter_handoff_back`` / ``utter_handoff_closed``).

Scripts (``python -m bot.handback``) may use the HTTP API token instead of a session:
``Authorization: Bearer <RASA_AUTH_TOKEN>``. A state-changing request made with the cookie must
come from the console page itself (``X-Requested-With: agent-console`` and, when the browser sends
one, an ``Origin`` equal to the server's).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.orders.views import jsonable
from actions.skills.ratelimit import RateLimiter
from bot.channels.limits import DEFAULT_MAX_MESSAGE_CHARS, int_setting
from bot.handoff.pause import console_metadata

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "bot" / "web" / "agent"
COOKIE = "agent_session"
AUDIENCE = "agent-console"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "agent-console"
ACTIVE = ("open", "in_progress")
STATUS_FILTERS = {"active": ACTIVE, "handed_back": ("handed_back",), "closed": ("closed",),
                  "all": ("open", "in_progress", "handed_back", "closed")}
NAME = re.compile(r"^[\w][\w .'\-]{0,39}$")
MAX_MESSAGES = 500
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def secured(resp: HTTPResponse) -> HTTPResponse:
    for key, value in SECURITY_HEADERS.items():
        resp.headers[key] = value
    return resp


def reply(body: Any, status: int = 200, **headers: str) -> HTTPResponse:
    return secured(response.json(jsonable(body), status=status, headers=headers or None, ensure_ascii=False))


def error(status: int, message: str, **headers: str) -> HTTPResponse:
    return reply({"error": message}, status, **headers)


def bearer(request: Request) -> str:
    header = request.headers.get("Authorization") or ""
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def same_origin(request: Request) -> bool:
    origin = (request.headers.get("Origin") or "").rstrip("/")
    return not origin or origin == f"{request.scheme}://{request.host}"


def client_address(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


# --- the conversation as the console shows it ------------------------------------------------


def messages_of(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """Customer, bot and agent messages, with the pauses and session starts between them."""
    out: list[dict[str, Any]] = []
    for event in tracker.events:
        if isinstance(event, UserUttered) and event.text is not None:
            out.append({"from": "customer", "text": event.text, "at": event.timestamp,
                        "channel": event.input_channel})
        elif isinstance(event, BotUttered):
            metadata = event.metadata or {}
            item = {"from": "agent" if metadata.get("from") == "agent" else "bot",
                    "text": metadata.get("agent_text") or event.text or "", "at": event.timestamp}
            if metadata.get("agent"):
                item["agent"] = metadata["agent"]
            buttons = (event.data or {}).get("buttons") or []
            if buttons:
                item["buttons"] = [str(b.get("title", "")) for b in buttons if isinstance(b, dict)]
            if item["text"] or buttons:
                out.append(item)
        elif isinstance(event, (ConversationPaused, ConversationResumed, SessionStarted)):
            kind = {ConversationPaused: "paused", ConversationResumed: "resumed",
                    SessionStarted: "new_session"}[type(event)]
            out.append({"from": "system", "event": kind, "at": event.timestamp})
    return out[-MAX_MESSAGES:]


def latest_user_metadata(tracker: DialogueStateTracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return event.metadata if isinstance(event.metadata, dict) else {}
    return {}


def output_channel_for(app: Any, tracker: DialogueStateTracker) -> OutputChannel | None:
    """The output channel of the channel the customer last wrote on, or None (REST: no push)."""
    name = tracker.get_latest_input_channel()
    for channel in getattr(app.ctx, "input_channels", None) or []:
        if channel.name() != name:
            continue
        if name == "slack":  # the direct-message channel the customer wrote in
            metadata = latest_user_metadata(tracker)
            thread = metadata.get("thread_id") if getattr(channel, "use_threads", False) else None
            return channel.get_output_channel(metadata.get("out_channel"), thread)
        return channel.get_output_channel()
    return None


class AgentConsoleInput(InputChannel):
    """The agent console (name ``agent``, URL ``/agent/``); see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "agent"

    def url_prefix(self) -> str:
        return "/agent"  # Rasa joins it to /webhooks/: an absolute path replaces it

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> AgentConsoleInput:
        credentials = credentials or {}
        return cls(
            session_ttl=int_setting(credentials.get("session_ttl"), 8 * 3600),
            max_failures=int_setting(credentials.get("max_failures"), 5),
            window=int_setting(credentials.get("window_seconds"), 600),
            cooldown=int_setting(credentials.get("cooldown_seconds"), 900),
            max_message_chars=int_setting(credentials.get("max_message_chars"), DEFAULT_MAX_MESSAGE_CHARS),
        )

    def __init__(self, session_ttl: int = 8 * 3600, max_failures: int = 5, window: int = 600,
                 cooldown: int = 900, max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS) -> None:
        self.session_ttl = max(60, session_ttl)
        self.max_message_chars = max_message_chars
        self.limiter = RateLimiter(max(1, max_failures), max(1, window), max(1, cooldown), 10_000)

    @property
    def password(self) -> str:
        """Read from the environment at each request, like the API token (the launcher sets it);
        never written to the credentials file."""
        return os.environ.get("AGENT_CONSOLE_PASSWORD") or ""

    @property
    def _key(self) -> bytes:
        # Sessions are signed with a key of their own, derived from the agent password: changing
        # the password signs everyone out, and no customer token can ever pass for a session.
        return hmac.new(self.password.encode(), b"agent-console-session", hashlib.sha256).digest()

    # --- who is asking ----------------------------------------------------------------------

    def session_token(self, agent: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": agent, "aud": AUDIENCE, "iat": now, "exp": now + self.session_ttl},
                          self._key, algorithm="HS256")

    @staticmethod
    def by_api_token(request: Request) -> bool:
        """A script with the HTTP API token (``Authorization: Bearer``), not a browser session."""
        token = bearer(request)
        api_token = os.environ.get("RASA_AUTH_TOKEN") or ""
        return bool(token and api_token) and hmac.compare_digest(token.encode(), api_token.encode())

    def agent_of(self, request: Request) -> str | None:
        """The signed-in agent's name, ``api`` for the HTTP API token (scripts), or None."""
        if self.by_api_token(request):
            name = (request.headers.get("X-Agent-Name") or "").strip()
            return name if NAME.match(name) else "api"
        cookie = request.cookies.get(COOKIE)
        if not cookie or not self.password:
            return None
        try:
            claims = jwt.decode(cookie, self._key, algorithms=["HS256"], audience=AUDIENCE,
                                options={"require": ["exp", "sub", "aud"]})
        except jwt.PyJWTError:
            return None
        name = str(claims.get("sub") or "")
        return name if NAME.match(name) else None

    def refuse(self, request: Request) -> HTTPResponse | None:
        """401 without a session; 403 for a state change with the cookie from elsewhere."""
        if self.agent_of(request) is None:
            return error(401, "sign in first")
        if request.method not in ("GET", "HEAD") and not self.by_api_token(request):
            if request.headers.get(CSRF_HEADER) != CSRF_VALUE or not same_origin(request):
                return error(403, "this request must come from the agent console")
        return None

    # --- the conversation -------------------------------------------------------------------

    @staticmethod
    def agent(request: Request) -> Any:
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            return None
        return agent

    @staticmethod
    async def service_call(fn: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, **kwargs)

    @staticmethod
    def orders() -> Any:
        from actions.orders import get_service

        return get_service()

    async def conversation(self, request: Request, conversation_id: str) -> DialogueStateTracker | None:
        agent = self.agent(request)
        return await agent.tracker_store.retrieve_full_tracker(conversation_id) if agent else None

    async def say(self, request: Request, ticket: Any, build: Callable[[DialogueStateTracker, Any],
                                                                       Awaitable[list[Event]]],
                  must_be_paused: bool) -> tuple[int, dict[str, Any]]:
        """Under the conversation's lock: ``build`` the events to record (with at most one bot or
        agent message), push that message on the customer's channel, save. (status, body)."""
        agent = self.agent(request)
        if agent is None:
            return 503, {"error": "no model loaded yet"}
        async with agent.lock_store.lock(ticket.conversation_id):
            tracker = await agent.tracker_store.retrieve(ticket.conversation_id)
            if tracker is None:
                return 404, {"error": "the conversation of this ticket is not stored any more"}
            if must_be_paused and not tracker.is_paused():
                return 409, {"error": "the bot has this conversation again (handed back or restarted)"}
            events = await build(tracker, agent)
            said = next((e for e in events if isinstance(e, BotUttered)), None)
            out = output_channel_for(request.app, tracker)
            delivered = None
            if said is not None and out is not None:
                try:
                    await out.send_response(tracker.sender_id, {"text": said.text})
                    delivered = out.name()
                except Exception:  # noqa: BLE001 - recorded anyway; the agent is told
                    logger.exception("an agent console message could not be sent on %s", out.name())
            if said is not None:
                said.metadata["delivered"] = delivered is not None
            for event in events:
                tracker.update(event, agent.domain)
            await agent.tracker_store.save(tracker)
        return 200, {"delivered": delivered or ("next_exchange" if said is not None else None),
                     "channel": tracker.get_latest_input_channel()}

    async def render(self, agent: Any, tracker: DialogueStateTracker, response_name: str,
                     **values: Any) -> str:
        draft = await agent.nlg.generate(response_name, tracker, tracker.get_latest_input_channel() or "", **values)
        return (draft or {}).get("text") or ""

    # --- routes -------------------------------------------------------------------------------

    async def static(self, name: str) -> HTTPResponse:
        if "/" in name or "\\" in name or name.startswith("."):
            return secured(response.text("not found", status=404))
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            return secured(response.text("not found", status=404))
        body = await asyncio.to_thread(path.read_bytes)
        return secured(response.raw(body, content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream")))

    async def sign_in(self, request: Request) -> HTTPResponse:
        if not self.password:
            return error(503, "agent sign-in is off: set AGENT_CONSOLE_PASSWORD")
        if request.headers.get(CSRF_HEADER) != CSRF_VALUE or not same_origin(request):
            return error(403, "sign in from the agent console")
        key = f"ip:{client_address(request)}"
        wait = self.limiter.retry_after([key])
        if wait > 0:
            return error(429, "too many failed sign-ins; try again later", **{"Retry-After": str(int(wait) + 1)})
        try:
            body = request.json
        except Exception:  # noqa: BLE001 - malformed JSON
            body = None
        name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(password, str) or not hmac.compare_digest(password.encode(), self.password.encode()):
            locked = self.limiter.failure([key])
            logger.warning("agent console: failed sign-in from %s%s", client_address(request),
                           " (locked)" if locked else "")
            if locked:
                return error(429, "too many failed sign-ins; try again later",
                             **{"Retry-After": str(int(locked) + 1)})
            return error(401, "wrong password")
        if not NAME.match(name):
            return error(400, "give your name (letters, digits, spaces; 40 at most): customers see it")
        resp = reply({"agent": name})
        resp.cookies[COOKIE] = self.session_token(name)
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/agent"
        cookie["max-age"] = self.session_ttl
        if request.scheme == "https":
            cookie["secure"] = True
        logger.info("agent console: %s signed in", name)
        return resp

    async def ticket_list(self, request: Request) -> HTTPResponse:
        status = request.args.get("status") or "active"
        if status not in STATUS_FILTERS:
            return error(400, f"status: one of {', '.join(STATUS_FILTERS)}")
        tickets = await self.service_call(
            self.orders().list_tickets, statuses=STATUS_FILTERS[status], queue=request.args.get("queue") or None,
            language=request.args.get("language") or None, priority=request.args.get("priority") or None,
            conversation_id=request.args.get("conversation_id") or None,
        )
        fields = ("number", "status", "language", "queue", "priority", "summary", "channel", "source",
                  "created_at", "due_at", "first_response_at", "customer_name", "order_number", "agent",
                  "conversation_id")
        return reply({"tickets": [{f: getattr(t, f) for f in fields} for t in tickets],
                      "now": time.time()})

    async def ticket(self, request: Request, number: str) -> HTTPResponse:
        details = await self.service_call(self.orders().ticket_details, number=number)
        if details is None:
            return error(404, "no such ticket")
        body = details.to_dict()
        body["ticket"].pop("transcript", None)
        body.update(await self.conversation_state(request, details.ticket))
        body["now"] = time.time()
        return reply(body)

    async def conversation_state(self, request: Request, ticket: Any, after: int = 0) -> dict[str, Any]:
        if not ticket.conversation_id:  # a triaged message: its text is the whole conversation
            text = ticket.transcript if isinstance(ticket.transcript, str) else ""
            if isinstance(ticket.transcript, list):
                text = "\n".join(str(t.get("text", "")) for t in ticket.transcript if isinstance(t, dict))
            items = [{"from": "customer", "text": text, "at": ticket.created_at.timestamp(),
                      "channel": ticket.channel}]
            return {"messages": items[after:], "count": len(items), "paused": False, "can_reply": False}
        tracker = await self.conversation(request, ticket.conversation_id)
        items = messages_of(tracker) if tracker is not None else []
        paused = bool(tracker and tracker.is_paused())
        return {"messages": items[after:], "count": len(items), "paused": paused,
                "can_reply": paused and ticket.status in ACTIVE,
                "customer_channel": tracker.get_latest_input_channel() if tracker else None}

    async def messages(self, request: Request, number: str) -> HTTPResponse:
        ticket = await self.service_call(self.orders().get_ticket, number=number)
        if ticket is None:
            return error(404, "no such ticket")
        try:
            after = max(0, int(request.args.get("after") or 0))
        except ValueError:
            after = 0
        state = await self.conversation_state(request, ticket, after)
        return reply({**state, "status": ticket.status})

    async def answer(self, request: Request, number: str) -> HTTPResponse:
        name = self.agent_of(request) or "api"
        try:
            body = request.json
        except Exception:  # noqa: BLE001
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return error(400, 'expected {"text": "..."}')
        text = text.strip()
        if len(text) > self.max_message_chars:
            return error(413, f"at most {self.max_message_chars} characters")
        service = self.orders()
        ticket = await self.service_call(service.get_ticket, number=number)
        if ticket is None:
            return error(404, "no such ticket")
        if not ticket.conversation_id:
            return error(409, "this ticket has no conversation: answer by e-mail or phone (reply_to)")
        state = await self.conversation_state(request, ticket)
        if not state["can_reply"]:
            return error(409, "the bot has this conversation again, or the ticket is handed back or closed")
        recorded = await self.service_call(service.record_agent_reply, number=ticket.number, agent=name)
        if not recorded.ok:
            return error(409, f"the ticket cannot be answered: {recorded.code}")

        async def build(tracker: DialogueStateTracker, agent: Any) -> list[Event]:
            shown = await self.render(agent, tracker, "utter_agent_message", agent_name=name, agent_text=text)
            metadata = console_metadata("agent", False, agent=name, agent_text=text, ticket=ticket.number,
                                        utter_action="utter_agent_message")
            return [BotUttered(shown or text, {}, metadata)]

        status, result = await self.say(request, ticket, build, must_be_paused=True)
        return reply(result if status != 200 else {**result, "ticket": recorded.data}, status)

    async def release(self, request: Request, number: str, status: str) -> HTTPResponse:
        """Hand back or close: the ticket first (refused for a closed one), then the conversation."""
        name = self.agent_of(request) or "api"
        service = self.orders()
        ticket = await self.service_call(service.get_ticket, number=number)
        if ticket is None:
            return error(404, "no such ticket")
        result = await self.service_call(service.set_ticket_status, number=ticket.number, status=status,
                                         actor=f"agent:{name}", channel="console", agent=name)
        if not result.ok:
            return error(409, f"the ticket cannot be {status.replace('_', ' ')}: {result.code}")
        body: dict[str, Any] = {"ticket": result.data, "greeted": False}
        # The conversation is this ticket's only while the ticket was active: a later ticket of the
        # same conversation may hold it now.
        if ticket.conversation_id and ticket.status in ACTIVE:
            greeting = "utter_handoff_closed" if status == "closed" else "utter_handoff_back"

            async def build(tracker: DialogueStateTracker, agent: Any) -> list[Event]:
                if not tracker.is_paused():
                    return []
                text = await self.render(agent, tracker, greeting, ticket_number=ticket.number)
                metadata = console_metadata("bot", False, agent=name, ticket=ticket.number, utter_action=greeting)
                return [ConversationResumed(), ActionExecuted(greeting), BotUttered(text, {}, metadata),
                        ActionExecuted("action_listen")]

            code, said = await self.say(request, ticket, build, must_be_paused=False)
            if code != 200:
                return reply({**body, **said}, code)
            body.update(said, greeted=said.get("delivered") is not None)
        return reply(body)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        console = Blueprint("agent_console", __name__)

        @console.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/")
            return await self.static("index.html")

        @console.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            return await self.static(name)

        @console.route("/api/session", methods=["GET", "POST", "DELETE"])
        async def session(request: Request) -> HTTPResponse:
            if request.method == "POST":
                return await self.sign_in(request)
            if request.method == "GET" and self.agent_of(request) is None:  # the page asks who it is
                return reply({"agent": None, "sign_in": bool(self.password)})
            refused = self.refuse(request)
            if refused is not None:
                return refused
            if request.method == "DELETE":
                resp = reply({"signed_out": True})
                resp.cookies[COOKIE] = ""
                resp.cookies[COOKIE]["max-age"] = 0
                resp.cookies[COOKIE]["path"] = "/agent"
                return resp
            return reply({"agent": self.agent_of(request), "sign_in": bool(self.password)})

        @console.route("/api/tickets", methods=["GET"])
        async def tickets(request: Request) -> HTTPResponse:
            return self.refuse(request) or await self.ticket_list(request)

        @console.route("/api/tickets/<number>", methods=["GET"])
        async def ticket(request: Request, number: str) -> HTTPResponse:
            return self.refuse(request) or await self.ticket(request, number)

        @console.route("/api/tickets/<number>/messages", methods=["GET"])
        async def messages(request: Request, number: str) -> HTTPResponse:
            return self.refuse(request) or await self.messages(request, number)

        @console.route("/api/tickets/<number>/reply", methods=["POST"])
        async def answer(request: Request, number: str) -> HTTPResponse:
            return self.refuse(request) or await self.answer(request, number)

        @console.route("/api/tickets/<number>/handback", methods=["POST"])
        async def handback(request: Request, number: str) -> HTTPResponse:
            return self.refuse(request) or await self.release(request, number, "handed_back")

        @console.route("/api/tickets/<number>/close", methods=["POST"])
        async def close(request: Request, number: str) -> HTTPResponse:
            return self.refuse(request) or await self.release(request, number, "closed")

        return console
