"""Channel fixtures: the real launcher with Telegram, Twilio (WhatsApp + SMS) and Slack turned on.

``channel_servers`` starts its own launcher (like ``tests/e2e/conftest.py``'s ``servers``: free
ports, a temporary order database and tracker store, the newest model) with the channel settings
set, and every messaging API pointed at a local stub (``tests/channels/stub.py``) that records
what the bot sends. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.channels.stub import ApiStub
from tests.conftest import ROOT
from tests.harness import free_port, model_exists, served_model

SECRETS = {
    "RASA_AUTH_TOKEN": "channels-test-api-token-7f3a",
    "AUTH_JWT_SECRET": "channels-test-jwt-secret-0123456789abcdef",
    "TELEGRAM_ACCESS_TOKEN": "123456789:TEST-telegram-token-abcdefghijklmnop",
    "TELEGRAM_WEBHOOK_SECRET": "telegram-webhook-secret-5c2e",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-91b7d0e4",
    "SLACK_BOT_TOKEN": "xoxb-test-slack-bot-token-42",
    "SLACK_SIGNING_SECRET": "slack-signing-secret-8d1f",
    "AGENT_CONSOLE_PASSWORD": "channels-agent-console-password-3c9e",
}
TICKETS_WEBHOOK_PATH = "/hooks/services/T0MARKET/B0TICKETS/tickets-webhook-secret"
TWILIO_SID = "AC00000000000000000000000000000001"
TWILIO_NUMBER = "+15005550006"
TWILIO_WHATSAPP = "+14155238886"
FOLLOWUP_TEMPLATE = "cancellation_update"
VERIFICATION_TTL = 30


@dataclass
class ChannelServers:
    base: str
    stub: ApiStub
    database_url: str
    log_path: Path
    env: dict

    # --- inbound requests as each platform sends them --------------------------------------

    def _post(self, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def telegram(self, update: dict, secret: str | None = SECRETS["TELEGRAM_WEBHOOK_SECRET"]) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return self._post("/webhooks/telegram/webhook", json.dumps(update).encode(), headers)

    def twilio(self, form: dict[str, str], sign: bool = True) -> tuple[int, str]:
        url = f"{self.base}/webhooks/twilio/webhook"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = twilio_signature(SECRETS["TWILIO_AUTH_TOKEN"], url, form)
        return self._post("/webhooks/twilio/webhook", urllib.parse.urlencode(form).encode(), headers)

    def slack(self, event: dict, secret: str = SECRETS["SLACK_SIGNING_SECRET"], timestamp: int | None = None,
              form: bool = False) -> tuple[int, str]:
        if form:
            body = urllib.parse.urlencode({"payload": json.dumps(event)}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(event).encode()
            content_type = "application/json"
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
        return self._post("/webhooks/slack/webhook", body, headers)

    def twilio_status(self, form: dict[str, str], sign: bool = True) -> tuple[int, str]:
        """A status callback, as Twilio posts it to the StatusCallback URL the bot gave."""
        url = self.env["TWILIO_STATUS_CALLBACK_URL"]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = twilio_signature(SECRETS["TWILIO_AUTH_TOKEN"], url, form)
        return self._post("/webhooks/twilio/status", urllib.parse.urlencode(form).encode(), headers)

    def api(self, path: str, body: dict | list | None = None) -> dict:
        """Rasa's HTTP API (with the token): what an agent console or a test reads and does."""
        separator = "&" if "?" in path else "?"
        url = f"{self.base}{path}{separator}token={SECRETS['RASA_AUTH_TOKEN']}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=90) as response:
            return json.loads(response.read() or b"null")

    @staticmethod
    def conversation_path(conversation_id: str) -> str:
        """/conversations/<id>: Sanic does not unquote route parameters, so ':' and '+' stay as they are."""
        return f"/conversations/{urllib.parse.quote(conversation_id, safe=':+')}"

    def tracker(self, conversation_id: str) -> dict:
        return self.api(f"{self.conversation_path(conversation_id)}/tracker")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def twilio_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 of the URL + sorted name/value pairs."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class ChannelLauncher:
    """The launcher process of the channel tests, started as early as possible (see below)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.stub = ApiStub().start()
        rasa_port, action_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{rasa_port}"
        self.env = {
            **os.environ,
            **SECRETS,
            "RASA_PORT": str(rasa_port),
            "ACTION_PORT": str(action_port),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
            "DATABASE_URL": f"sqlite:///{tmp}/orders.db",
            "TRACKER_STORE_URL": f"sqlite:///{tmp}/tracker.db",
            "CREDENTIALS_FILE": str(tmp / "credentials.yml"),
            "DEADLINE_JOB_INTERVAL": "3600",
            "CORS_ORIGINS": "https://shop.example.com",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/webhooks/telegram/webhook",
            "TELEGRAM_API_URL": f"{self.stub.base}/telegram",
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_NUMBER": TWILIO_NUMBER,
            "TWILIO_WHATSAPP_NUMBER": TWILIO_WHATSAPP,
            "TWILIO_API_URL": f"{self.stub.base}/twilio",
            "SLACK_API_URL": f"{self.stub.base}/slack/api/",
            "SLACK_TICKETS_WEBHOOK_URL": f"{self.stub.base}{TICKETS_WEBHOOK_PATH}",
            "AGENT_CONSOLE_URL": "https://bot.example.com/agent/",
            "RASA_REQUEST_MAX_SIZE": "200000",
            "TWILIO_CONTENT_API_URL": f"{self.stub.base}/twilio",
            "TWILIO_STATUS_CALLBACK_URL": f"{self.base}/webhooks/twilio/status",
            # approved in English and French only: a Swahili follow-up outside the window is a ticket
            "WHATSAPP_FOLLOWUP_TEMPLATE": FOLLOWUP_TEMPLATE,
            "WHATSAPP_FOLLOWUP_TEMPLATE_LANGUAGES": "en,fr",
            # short enough for tests/channels/test_twilio.py to see an SMS verification run out
            "VERIFICATION_TTL_SECONDS": str(VERIFICATION_TTL),
            "WEBCHAT_DEMO_SIGN_IN": "true",
        }
        self.log_path = tmp / "launcher.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.launcher", "--model", str(served_model())],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 300) -> ChannelServers:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if "Ready." in self.log_path.read_text(errors="replace"):
                return ChannelServers(self.base, self.stub, self.env["DATABASE_URL"], self.log_path, self.env)
            time.sleep(1)
        text = self.log_path.read_text(errors="replace")
        self.stop()
        pytest.fail("channel servers did not start:\n" + text[-5000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        self.stub.stop()


_early: dict[str, ChannelLauncher] = {}


def _uses_channel_servers(item: pytest.Item) -> bool:
    return "channel_servers" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Channel tests run last, so that their servers start while the other tests run."""
    items[:] = [i for i in items if not _uses_channel_servers(i)] + [i for i in items if _uses_channel_servers(i)]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Starts the channel launcher now (a Rasa server takes a minute or two to load its model)."""
    if session.config.option.collectonly or not any(_uses_channel_servers(i) for i in session.items):
        return
    if "launcher" not in _early and model_exists():
        tmp = session.config._tmp_path_factory.mktemp("channels")  # type: ignore[attr-defined]
        _early["launcher"] = ChannelLauncher(tmp)


@pytest.fixture(scope="session")
def channel_servers(tmp_path_factory) -> ChannelServers:
    launcher = _early.pop("launcher", None) or ChannelLauncher(tmp_path_factory.mktemp("channels"))
    try:
        yield launcher.wait_ready()
    finally:
        launcher.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """An early launcher whose tests never ran (-x, Ctrl-C) is stopped too."""
    launcher = _early.pop("launcher", None)
    if launcher is not None:
        launcher.stop()
