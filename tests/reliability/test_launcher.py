"""`make run`'s launcher as a user meets it: a crashed action server is restarted while the Rasa
server keeps answering, and nothing outlives the launcher, even when it is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.harness import alive, children_of, free_port, served_model

pytestmark = pytest.mark.needs_servers


def post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def said(base: str, sender: str) -> list[str]:
    """The responses (by name) of the bot's last turn in this conversation."""
    url = f"{base}/conversations/{sender}/tracker?token=launcher-test"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return [(e.get("metadata") or {}).get("utter_action") for e in events[last_user:] if e["event"] == "bot"]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def requests_for(database_url: str, order: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM cancellation_requests c JOIN orders o ON o.id = c.order_id "
                "WHERE o.number = :n"), {"n": order}).scalar_one()
    finally:
        engine.dispose()


def test_a_crashed_action_server_is_restarted_and_nothing_outlives_the_launcher(tmp_path):
    rasa_port, action_port = free_port(), free_port()
    database_url = f"sqlite:///{tmp_path}/orders.db"
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", "RASA_AUTH_TOKEN": "launcher-test",
           "DATABASE_URL": database_url, "TRACKER_STORE_URL": f"sqlite:///{tmp_path}/tracker.db",
           "DEADLINE_JOB_INTERVAL": "3600"}
    log_path = tmp_path / "launcher.log"
    with open(log_path, "w") as log:
        launcher = subprocess.Popen([sys.executable, "-m", "bot.launcher", "--model", str(served_model())],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "Ready." in log_path.read_text(errors="replace"), 300, "the launcher was not ready")
        base = f"http://127.0.0.1:{rasa_port}"
        webhook = f"{base}/webhooks/rest/webhook"
        order, sender = "8170034500000003", "launcher-test-fr"
        for text in ("je veux annuler ma commande", order, "amina.diallo@example.com"):
            post(webhook, {"sender": sender, "message": text})
        post(webhook, {"sender": sender, "message": "je n'en ai plus besoin"})
        assert said(base, sender) == ["utter_ask_cancel_form_confirmed"]

        # The action server crashes just before the user's "yes".
        actions = [pid for pid, command in children_of(launcher.pid).items() if "rasa_sdk" in command]
        assert len(actions) == 1
        os.kill(actions[0], signal.SIGKILL)
        wait_for(lambda: not alive(actions[0]), 10, "the action server did not die")
        reply = post(webhook, {"sender": sender, "message": "oui"})
        # "nothing was changed", in the user's language, and the form asks its question again
        assert said(base, sender) == ["utter_service_unavailable", "utter_ask_cancel_form_confirmed"]
        assert reply[0]["text"].startswith("Désolé")
        assert requests_for(database_url, order) == 0

        # The launcher restarts it (the Rasa server kept serving); the conversation completes, once.
        wait_for(lambda: not port_free(action_port), 60, "the action server was not restarted")
        assert "action server exited with code" in log_path.read_text(errors="replace")
        post(webhook, {"sender": sender, "message": "oui"})
        assert said(base, sender) == ["utter_cancel_requested"]
        post(webhook, {"sender": sender, "message": "oui"})  # the "yes" sent again files nothing more
        assert requests_for(database_url, order) == 1

        # Killed without a chance to clean up, the launcher takes its children with it.
        children = children_of(launcher.pid)
        assert len(children) == 3, children  # action server, deadline job, Rasa server
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in children), 30, f"children outlived the launcher: {children}")
        wait_for(lambda: port_free(rasa_port) and port_free(action_port), 10, "ports stayed taken")
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        for pid in children_of(launcher.pid):
            os.kill(pid, signal.SIGKILL)
