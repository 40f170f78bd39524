"""End-to-end fixtures: the real launcher (action server + Rasa server) on free local ports.

The servers use a temporary order database and tracker store, seeded with the demo data, and
the newest trained model in ``models/`` (``make test`` trains it first).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOKEN = "e2e-test-token"
JWT_SECRET = "e2e-test-jwt-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    base: str
    token: str
    database_url: str
    env: dict

    def post(self, path: str, body: dict, token: bool = False, timeout: float = 30) -> tuple[int, object]:
        url = f"{self.base}{path}" + (f"?token={self.token}" if token else "")
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def say(self, sender: str, message: str, **metadata) -> list[dict]:
        body = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        status, replies = self.post("/webhooks/rest/webhook", body)
        assert status == 200, replies
        return replies

    @staticmethod
    def text(replies: list[dict]) -> str:
        return "\n".join(r.get("text", "") for r in replies)


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("no trained model in models/: run `make train` (make test does it)")
    return models[-1]


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Servers:
    tmp = tmp_path_factory.mktemp("e2e")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "RASA_AUTH_TOKEN": TOKEN,
        "AUTH_JWT_SECRET": JWT_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp}/orders.db",
        "TRACKER_STORE_URL": f"sqlite:///{tmp}/tracker.db",
        "DEADLINE_JOB_INTERVAL": "3600",
    }
    log = open(tmp / "launcher.log", "w")
    process = subprocess.Popen(
        # --demo, as `make run`: the browser test signs in with the page's demo sign-in
        [sys.executable, "-m", "bot.launcher", "--demo", "--model", str(newest_model())],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{rasa_port}"
    deadline = time.monotonic() + 300
    ready = False
    while time.monotonic() < deadline and process.poll() is None:
        if "Ready." in (tmp / "launcher.log").read_text(errors="replace"):
            ready = True
            break
        time.sleep(1)
    if not ready:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail("servers did not start:\n" + (tmp / "launcher.log").read_text(errors="replace")[-5000:])
    yield Servers(base=base, token=TOKEN, database_url=env["DATABASE_URL"], env=env)
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()
