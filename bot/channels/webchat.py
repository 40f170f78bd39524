"""The website chat, served by the Rasa server itself at ``/webhooks/webchat/``.

* ``GET /webhooks/webchat/``: the demo page (a help-centre page with the chat embedded);
* ``GET /webhooks/webchat/widget.js``: the one-line embed script (loads the widget and connects it
  to this server's socket.io channel);
* ``GET /webhooks/webchat/static/<file>``: the page's own files (``bot/web/static``) and
  ``rasa-webchat.js``, the browser bundle of the ``rasa-webchat`` npm package installed in
  ``bot/web/node_modules`` (``npm ci --prefix bot/web``), served from here: no CDN;
* ``GET /webhooks/webchat/demo-customers`` and ``POST /webhooks/webchat/sign-in``: the demo
  sign-in. A visitor picks one of the three demo customers and gets a short-lived token, made
  exactly as the website's login would make it (``bot.channels.identity.issue_token``: HS256 with
  ``AUTH_JWT_SECRET``, ``sub``, ``aud``, ``iss``, ``exp`` = ``WEBCHAT_TOKEN_TTL`` seconds); the page
  sends it in every message's metadata (``customData.auth_token``) and the actions check it at
  every message. Only the demo customers can be signed in, and only while ``WEBCHAT_DEMO_SIGN_IN``
  is true: off by default, on with ``make run`` (``python -m bot.launcher --demo``). Anyone who
  reaches the page could otherwise sign in as a demo customer.

Every response carries a strict Content-Security-Policy (scripts, styles, fonts, images and
connections from this server only), so the page loads nothing from the internet.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.identity import TokenSettings, issue_token

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "bot" / "web"
STATIC = WEB / "static"
WIDGET_BUNDLE = WEB / "node_modules" / "rasa-webchat" / "lib" / "index.js"

# The widget injects its styles inline (style-src 'unsafe-inline'); its stylesheet @imports a
# web font from the internet, which this policy blocks: the page falls back to system fonts.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# The three demo customers (actions/orders/demo.py); only they can be signed in by this page.
DEMO_CUSTOMERS = {
    "amina": {"email": "amina.diallo@example.com", "order_prefix": "81700345", "language": "fr"},
    "wanjiku": {"email": "wanjiku.kamau@example.co.ke", "order_prefix": "81700512", "language": "sw"},
    "oliver": {"email": "oliver.smith@example.co.uk", "order_prefix": "81700877", "language": "en"},
}


def _flag(value: Any, default: bool) -> bool:
    if value is None or str(value).strip() == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _seconds(value: Any, default: int) -> int:
    try:
        return max(60, min(int(str(value).strip()), 24 * 3600))
    except (TypeError, ValueError):
        return default


def demo_customer_id(key: str) -> dict[str, Any] | None:
    """The demo customer's id and name, looked up in the order database (blocking)."""
    from actions.orders import get_service

    demo = DEMO_CUSTOMERS.get(key)
    if demo is None:
        return None
    service = get_service()
    customer = service.verify_owner(order_number=f"{demo['order_prefix']}00000001", contact=demo["email"])
    if customer is None:
        return None
    view = service.get_customer(customer_id=customer)
    return {"id": customer, "name": view.name if view else key, "language": demo["language"]}


class WebChatInput(InputChannel):
    """Serves the chat page, the widget and the demo sign-in (name and URL: ``webchat``)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        credentials = credentials or {}
        return cls(
            demo_sign_in=_flag(credentials.get("demo_sign_in"), False),
            token_ttl=_seconds(credentials.get("token_ttl"), 1800),
            socket_path=str(credentials.get("socketio_path") or "/socket.io"),
            title=str(credentials.get("title") or "Marketplace support"),
        )

    def __init__(
        self, demo_sign_in: bool = False, token_ttl: int = 1800, socket_path: str = "/socket.io",
        title: str = "Marketplace support",
    ) -> None:
        self.demo_sign_in = demo_sign_in
        self.token_ttl = token_ttl
        self.socket_path = socket_path
        self.title = title

    @staticmethod
    def secured(resp: HTTPResponse, request: Request | None = None) -> HTTPResponse:
        resp.headers["Content-Security-Policy"] = CSP
        for key, value in SECURITY_HEADERS.items():
            resp.headers[key] = value
        return resp

    def static_file(self, name: str) -> Path | None:
        """A file of the page, or None: no directories, no dot files, nothing outside static/."""
        if name == "rasa-webchat.js":
            return WIDGET_BUNDLE if WIDGET_BUNDLE.is_file() else None
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        path = (STATIC / name).resolve()
        return path if path.parent == STATIC.resolve() and path.is_file() else None

    async def send_file(self, path: Path, request: Request) -> HTTPResponse:
        body = await asyncio.to_thread(path.read_bytes)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript",):
            content_type += "; charset=utf-8"
        return self.secured(response.raw(body, content_type=content_type), request)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # relative asset URLs need the trailing slash
                return response.redirect(request.path + "/")
            if not WIDGET_BUNDLE.is_file():
                return self.secured(response.text(
                    "The chat widget is not installed: run `npm ci --prefix bot/web` (make setup does it).",
                    status=503,
                ), request)
            return await self.send_file(STATIC / "index.html", request)

        @webchat.route("/widget.js", methods=["GET"])
        async def widget(request: Request) -> HTTPResponse:
            return await self.send_file(STATIC / "widget.js", request)

        @webchat.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            path = self.static_file(name)
            if path is None:
                return self.secured(response.text("not found", status=404), request)
            return await self.send_file(path, request)

        @webchat.route("/config", methods=["GET"])
        async def config(_: Request) -> HTTPResponse:
            return self.secured(response.json({
                "socketPath": self.socket_path,
                "title": self.title,
                "demoSignIn": self.demo_sign_in,
                "tokenTtl": self.token_ttl,
            }))

        @webchat.route("/demo-customers", methods=["GET"])
        async def demo_customers(_: Request) -> HTTPResponse:
            if not self.demo_sign_in:
                return self.secured(response.json([], status=404))
            customers = []
            for key in DEMO_CUSTOMERS:
                try:
                    found = await asyncio.to_thread(demo_customer_id, key)
                except Exception:  # noqa: BLE001
                    logger.exception("demo customer lookup failed")
                    found = None
                if found:
                    customers.append({"key": key, "name": found["name"], "language": found["language"]})
            return self.secured(response.json(customers))

        @webchat.route("/sign-in", methods=["POST"])
        async def sign_in(request: Request) -> HTTPResponse:
            if not self.demo_sign_in:
                return self.secured(response.json({"error": "demo sign-in is off"}, status=404))
            settings = TokenSettings.from_env()
            try:
                body = request.json
            except Exception:  # noqa: BLE001
                body = None
            key = body.get("customer") if isinstance(body, dict) else None
            if not settings.secret or not isinstance(key, str) or key not in DEMO_CUSTOMERS:
                return self.secured(response.json({"error": "unknown demo customer"}, status=400))
            try:
                found = await asyncio.to_thread(demo_customer_id, key)
            except Exception:  # noqa: BLE001
                logger.exception("demo customer lookup failed")
                found = None
            if not found:
                return self.secured(response.json({"error": "demo data not loaded"}, status=503))
            token = issue_token(found["id"], self.token_ttl, settings)
            return self.secured(response.json({
                "token": token, "name": found["name"], "language": found["language"],
                "expires_in": self.token_ttl,
            }))

        return webchat
