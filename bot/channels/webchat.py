"""The website chat, served by the Rasa server itself at ``/webhooks/webchat/``.

* ``GET /webhooks/webchat/``: the demo page (a help-centre page with the chat embedded);
* ``GET /webhooks/webchat/widget.js``: the one-line embed script, the whole widget
  (``bot/web/static/widget.js``): it loads its stylesheet and the socket.io client from here and
  talks to this server's socket.io channel;
* ``GET /webhooks/webchat/static/<file>``: the page's own files (``bot/web/static``) and
  ``socket.io.min.js``, the browser build of the ``socket.io-client`` npm package installed in
  ``bot/web/node_modules`` (``npm ci --prefix bot/web``), served from here: no CDN;
* ``GET /webhooks/webchat/demo-customers`` and ``POST /webhooks/webchat/sign-in``: the demo
  sign-in. A visitor picks one of the three demo customers and gets a short-lived token, made
  exactly as the website's login would make it (``actions.identity.issue_token``: HS256 with
  ``AUTH_JWT_SECRET``, ``sub``, ``aud``, ``iss``, ``exp`` = ``WEBCHAT_TOKEN_TTL`` seconds); the page
  sends it in every message's metadata (``customData.auth_token``) and the actions check it at
  every message. Only the demo customers can be signed in, and only while ``WEBCHAT_DEMO_SIGN_IN``
  is true: off by default, on with ``make run`` (``python -m bot.launcher --demo``). Anyone who
  reaches the page could otherwise sign in as a demo customer.

Caching and compression (:class:`Assets`): the files are read once, at start, and kept with their
gzip and brotli encodings; a browser gets the smallest encoding it accepts. Every file has a
content hash: it is the ETag (a repeat visit costs a 304 without a body) and it is part of a second
name, ``static/<stem>.<hash><suffix>``, served as immutable for a year. The two entry points (the
page and ``widget.js``, whose URLs cannot change) refer to the other files by those hashed names,
and are themselves revalidated on every load (``no-cache``): a new release is picked up at once
and nothing else is downloaded again until it changes. The API answers (tokens) are ``no-store``.

Every response carries a strict Content-Security-Policy (scripts, styles, fonts, images and
connections from this server only, no inline script or style), so the page loads nothing from the
internet.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.identity import TokenSettings, issue_token

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "bot" / "web"
STATIC = WEB / "static"
SOCKET_IO_CLIENT = WEB / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
ENTRY_POINTS = ("index.html", "widget.js")  # fixed URLs: they name the other files by their hash

# connect-src 'self' covers the websocket to this server (ws:/wss:, CSP level 3).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NO_STORE = "no-store"
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes in each encoding, its type and its content hash."""

    name: str
    hashed_name: str
    content_type: str
    etag: str
    bodies: dict[str, bytes]  # encoding ("identity", "br", "gzip") -> body

    def encoding_for(self, accept_encoding: str) -> str:
        accepted = accepted_encodings(accept_encoding)
        for encoding in ("br", "gzip"):
            if encoding in accepted and encoding in self.bodies:
                return encoding
        return "identity"


def accepted_encodings(header: str) -> set[str]:
    """Content codings a client accepts (``Accept-Encoding``, ``;q=0`` refuses one)."""
    accepted = set()
    for part in (header or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = params.strip()
        if quality.startswith("q=") and quality[2:].strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if coding:
            accepted.add(coding.strip())
    if "*" in accepted:
        accepted |= {"br", "gzip"}
    return accepted


def hashed(name: str, digest: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def make_asset(name: str, body: bytes) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    bodies = {"identity": body}
    if content_type.startswith(("text/", "application/javascript", "application/json", "image/svg")):
        for encoding, compressed in (
            ("br", brotli.compress(body, quality=11)),
            ("gzip", gzip.compress(body, compresslevel=9, mtime=0)),
        ):
            if len(compressed) < len(body):
                bodies[encoding] = compressed
    return Asset(name, hashed(name, digest), content_type, digest, bodies)


class Assets:
    """The page's files and the socket.io client, read and compressed once (see module doc)."""

    def __init__(self, static: Path = STATIC, vendor: dict[str, Path] | None = None) -> None:
        vendor = {"socket.io.min.js": SOCKET_IO_CLIENT} if vendor is None else vendor
        sources = {path.name: path for path in sorted(static.iterdir())
                   if path.is_file() and not path.name.startswith(".")}
        missing = [name for name, path in vendor.items() if not path.is_file()]
        self.missing = missing
        sources.update({name: path for name, path in vendor.items() if path.is_file()})
        self.by_name: dict[str, Asset] = {}
        for name, path in sources.items():
            if name not in ENTRY_POINTS:
                self.add(make_asset(name, path.read_bytes()))
        # Entry points last: they refer to the others by hashed name ("static/<name>" -> hashed).
        references = {name: asset.hashed_name for name, asset in self.by_name.items()}
        for name in ENTRY_POINTS:
            if name in sources:
                text = sources[name].read_text(encoding="utf-8")
                text = re.sub(
                    r"static/([A-Za-z0-9_.-]+)",
                    lambda m: "static/" + references.get(m.group(1), m.group(1)),
                    text,
                )
                self.add(make_asset(name, text.encode("utf-8")))

    def add(self, asset: Asset) -> None:
        self.by_name[asset.name] = asset
        self.by_name[asset.hashed_name] = asset

    def get(self, name: str) -> tuple[Asset, bool] | None:
        """The asset and whether ``name`` is its hashed (immutable) name."""
        asset = self.by_name.get(name)
        if asset is None:
            return None
        return asset, name == asset.hashed_name and name not in ENTRY_POINTS

    def sizes(self) -> dict[str, dict[str, int]]:
        """Bytes per file and encoding (``python -m bot.channels.webchat``)."""
        return {
            asset.name: {encoding: len(body) for encoding, body in asset.bodies.items()}
            for name, asset in sorted(self.by_name.items()) if name == asset.name
        }


def etag_matches(header: str | None, asset: Asset) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    return any(tag.split("-", 1)[0] == asset.etag for tag in tags)


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
    def secured(resp: HTTPResponse, cache: str = NO_STORE) -> HTTPResponse:
        resp.headers["Content-Security-Policy"] = CSP
        for key, value in SECURITY_HEADERS.items():
            resp.headers[key] = value
        resp.headers["Cache-Control"] = cache
        return resp

    @property
    def assets(self) -> Assets:
        if getattr(self, "_assets", None) is None:
            self._assets = Assets()
            if self._assets.missing:
                logger.error("web chat: %s missing: run `npm ci --prefix bot/web` (make setup does it)",
                             ", ".join(self._assets.missing))
        return self._assets

    def send_asset(self, name: str, request: Request) -> HTTPResponse:
        """A file with its ETag, in the best encoding the client accepts; 304 when unchanged."""
        found = self.assets.get(name) if "/" not in name and "\\" not in name else None
        if found is None:
            return self.secured(response.text("not found", status=404))
        asset, immutable = found
        cache = IMMUTABLE if immutable else REVALIDATE
        encoding = asset.encoding_for(request.headers.get("accept-encoding", ""))
        etag = f'"{asset.etag}"' if encoding == "identity" else f'"{asset.etag}-{encoding}"'
        headers = {"ETag": etag, "Vary": "Accept-Encoding"}
        if etag_matches(request.headers.get("if-none-match"), asset):
            return self.secured(response.empty(status=304, headers=headers), cache)
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        return self.secured(
            response.raw(asset.bodies[encoding], content_type=asset.content_type, headers=headers), cache,
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat = Blueprint("webchat", __name__)
        _ = self.assets  # read and compressed now, at start, not during the first visit

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # relative asset URLs need the trailing slash
                return response.redirect(request.path + "/")
            if self.assets.missing:
                return self.secured(response.text(
                    "The chat widget is not installed: run `npm ci --prefix bot/web` (make setup does it).",
                    status=503,
                ))
            return self.send_asset("index.html", request)

        @webchat.route("/widget.js", methods=["GET"])
        async def widget(request: Request) -> HTTPResponse:
            return self.send_asset("widget.js", request)

        @webchat.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name in ENTRY_POINTS:  # served at their own URLs only
                return self.secured(response.text("not found", status=404))
            return self.send_asset(name, request)

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


if __name__ == "__main__":  # python -m bot.channels.webchat: what a browser downloads, in bytes
    sizes = Assets().sizes()
    print(f"{'file':28} {'bytes':>9} {'gzip':>9} {'brotli':>9}")
    for file, size in sizes.items():
        print(f"{file:28} {size['identity']:>9} {size.get('gzip', size['identity']):>9} "
              f"{size.get('br', size['identity']):>9}")
    widget = [name for name in sizes if name != "index.html" and not name.startswith(("demo.", "style."))]
    for label, key in (("widget total", "identity"), ("gzip", "gzip"), ("brotli", "br")):
        print(f"{label:28} {sum(sizes[n].get(key, sizes[n]['identity']) for n in widget):>9}")
