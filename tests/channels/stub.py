"""A local stand-in for the Telegram, Twilio and Slack APIs: records what the bot sends.

The channel fixture points ``TELEGRAM_API_URL``, ``TWILIO_API_URL``, ``TWILIO_CONTENT_API_URL``
and ``SLACK_API_URL`` at it, so no test talks to the internet. Paths:

    /telegram/bot<token>/<method>                         Telegram Bot API
    /twilio/2010-04-01/Accounts/<sid>/Messages.json       Twilio Messages API
    /twilio/v1/ContentAndApprovals                        Twilio Content API (``templates``)
    /slack/api/<method>                                   Slack Web API
    /hooks/services/<team>/<bot>/<secret>                  Slack incoming webhooks

``fail_next`` makes the next call(s) of a method answer as the platform does when it is rate
limited (429 with Retry-After) or in trouble (5xx).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    service: str  # telegram | twilio | slack
    method: str  # sendMessage, Messages.json, chat.postMessage, ...
    path: str
    headers: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)

    def json_param(self, key: str) -> Any:
        value = self.params.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(body)
        return loaded if isinstance(loaded, dict) else {"_": loaded}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] if len(v) == 1 else v for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        params = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                params[name] = part.get_content() if part.get_content_type().startswith("text/") else part.get_payload(decode=True)
        return params
    return {"_raw": body.decode(errors="replace")}


def failure_body(service: str, status: int, retry_after: float | None) -> dict[str, Any]:
    """What each platform answers with a 429 or a 5xx."""
    if service == "telegram":
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": f"Error {status}"}
        if status == 429 and retry_after is not None:
            body["parameters"] = {"retry_after": int(retry_after)}
        return body
    if service == "twilio":
        return {"code": 20429 if status == 429 else 20500, "message": "Too Many Requests" if status == 429
                else "Internal Server Error", "status": status}
    return {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}


@dataclass
class Failure:
    service: str
    method: str
    status: int
    retry_after: float | None
    times: int


class ApiStub:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        # Twilio Content API: templates as ContentAndApprovals lists them
        self.templates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ApiStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self.handle_call()

            def do_POST(self) -> None:
                self.handle_call()

            def handle_call(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                params = _parse_body(self.headers.get("Content-Type", ""), body)
                params.update({k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()})
                parts = parsed.path.strip("/").split("/")
                service = parts[0] if parts else ""
                method = parts[-1] if parts else ""
                call = Call(service, method, parsed.path, dict(self.headers.items()), params)
                with stub.lock:
                    stub.calls.append(call)
                    failure = next((f for f in stub.failures if f.service == call.service and f.method == call.method), None)
                    if failure is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            stub.failures.remove(failure)
                headers = {}
                if failure is not None:
                    status, answer = failure.status, failure_body(call.service, failure.status, failure.retry_after)
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(int(failure.retry_after))
                else:
                    status, answer = stub.answer(call)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def fail_next(self, service: str, method: str, status: int = 429, retry_after: float | None = 1,
                  times: int = 1) -> None:
        with self.lock:
            self.failures.append(Failure(service, method, status, retry_after, times))

    def answer(self, call: Call) -> tuple[int, Any]:
        now = int(time.time())
        if call.service == "telegram":
            if call.method in ("sendMessage", "sendPhoto"):
                chat_id = int(str(call.params.get("chat_id", "0")))
                return 200, {"ok": True, "result": {
                    "message_id": now % 100000, "date": now, "chat": {"id": chat_id, "type": "private"},
                    "text": call.params.get("text", ""),
                }}
            if call.method == "getMe":
                return 200, {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Support", "username": "support_bot"}}
            return 200, {"ok": True, "result": True}
        if call.service == "twilio":
            if call.method == "ContentAndApprovals":
                return 200, {"contents": list(self.templates), "meta": {"page": 0, "page_size": 100, "next_page_url": None,
                                                                        "key": "contents"}}
            return 201, {"sid": f"SM{now}", "status": "queued", "to": call.params.get("To"), "body": call.params.get("Body")}
        if call.service == "slack":
            if call.method == "conversations.open":  # the direct message of the bot with that user
                user = str(call.params.get("users") or "")
                return 200, {"ok": True, "channel": {"id": f"D{user[1:]}DM"}}
            if call.method == "chat.postEphemeral":
                return 200, {"ok": True, "message_ts": f"{now}.000200"}
            return 200, {"ok": True, "channel": call.params.get("channel"), "ts": f"{now}.000100"}
        if call.service == "hooks":
            return 200, "ok"
        return 404, {"ok": False}

    # --- reading what was sent ----------------------------------------------------------------

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def wait_for(self, predicate: Callable[[Call], bool], since: int = 0, timeout: float = 60,
                 count: int = 1) -> list[Call]:
        """The calls after index ``since`` that match, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.snapshot()[since:] if predicate(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} matching call(s), got {len(found)}; all calls since {since}: "
                    + json.dumps([(c.service, c.method, c.params) for c in self.snapshot()[since:]], default=str)[:4000]
                )
            time.sleep(0.2)

    def settle(self, since: int, quiet: float = 1.5, timeout: float = 60) -> list[Call]:
        """Waits until no call arrived for ``quiet`` seconds (after at least one), returns them."""
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            calls = self.snapshot()[since:]
            if len(calls) != last_count:
                last_count, last_change = len(calls), time.monotonic()
            elif calls and time.monotonic() - last_change >= quiet:
                return calls
            time.sleep(0.1)
        return self.snapshot()[since:]


def text_of(call: Call) -> str:
    """The text a call sends, whatever the API."""
    if call.service == "telegram":
        return str(call.params.get("text", ""))
    if call.service == "twilio":
        return str(call.params.get("Body", ""))
    if call.service in ("slack", "hooks"):
        return str(call.params.get("text", ""))
    return ""


