"""`make run` with RASA_WORKERS=2, as a user meets it: one public port (nginx) in front of two Rasa
workers, the conversations in the private PostgreSQL cluster it starts in CLUSTER_DIR (so they
survive a restart of `make run`), a killed worker restarted while the other keeps answering, and
nothing left running once the launcher is killed. Needs PostgreSQL, Redis and nginx (`make
services`): in CI a missing one fails the test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from bot.cluster import Postgres, postgres_bindir
from tests.conftest import ROOT, require
from tests.harness import alive, children_of, free_port, served_model
from tests.reliability.test_launcher import port_free, post, said, wait_for

pytestmark = pytest.mark.needs_servers


def descendants(pid: int) -> dict[int, str]:
    found = children_of(pid)
    for child in list(found):
        found.update(descendants(child))
    return found


def stored_events(cluster_dir, sender: str) -> int:
    postgres = Postgres(cluster_dir / "postgres")
    connection = psycopg2.connect(postgres.url("rasa", "postgresql"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,))
            return cursor.fetchone()[0]
    finally:
        connection.close()


@pytest.mark.timeout(900)
def test_two_workers_behind_one_port_share_conversations_that_survive_a_restart(nginx, tmp_path):
    if postgres_bindir() is None:
        require("PostgreSQL", "no /usr/lib/postgresql/*/bin/initdb")
    if shutil.which("redis-server") is None:
        require("Redis", "no redis-server on the PATH")
    rasa_port, action_port = free_port(), free_port()
    cluster_dir = Path(tempfile.mkdtemp(prefix="workers-cluster-"))  # PostgreSQL's user must enter it
    os.chmod(cluster_dir, 0o755)
    env = {**os.environ, "RASA_WORKERS": "2", "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", "RASA_AUTH_TOKEN": "launcher-test",
           "DATABASE_URL": f"sqlite:///{tmp_path}/orders.db", "CLUSTER_DIR": str(cluster_dir),
           "CREDENTIALS_FILE": str(tmp_path / "credentials.yml"), "RUNTIME_FILE": str(tmp_path / "runtime.env"),
           "DEADLINE_JOB_INTERVAL": "3600"}
    env.pop("REDIS_URL", None)
    env.pop("TRACKER_STORE_URL", None)  # the default, SQLite: the launcher starts PostgreSQL instead
    base = f"http://127.0.0.1:{rasa_port}"
    webhook = f"{base}/webhooks/rest/webhook"
    sender = "workers-test-sw"

    def launch(log_name: str) -> subprocess.Popen:
        with open(tmp_path / log_name, "w") as log:
            launcher = subprocess.Popen([sys.executable, "-m", "bot.launcher", "--model", str(served_model())],
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_for(lambda: "Ready." in (tmp_path / log_name).read_text(errors="replace") or launcher.poll() is not None,
                 600, "the launcher was not ready")
        assert launcher.poll() is None, (tmp_path / log_name).read_text(errors="replace")[-3000:]
        return launcher

    launcher = launch("launcher-1.log")
    try:
        assert "2 Rasa workers behind nginx" in (tmp_path / "launcher-1.log").read_text()
        processes = descendants(launcher.pid)
        workers = [pid for pid, command in processes.items() if "bot.rasa_ext run" in command]
        assert len(workers) == 2, processes
        assert any(command.startswith(nginx) or "nginx: master" in command for command in processes.values())
        assert any("postgres" in command for command in processes.values())
        assert any("redis-server" in command for command in processes.values())

        post(webhook, {"sender": sender, "message": "habari, oda yangu 8170051200000006 iko wapi?"})
        assert said(base, sender) == ["utter_ask_contact"]
        assert stored_events(cluster_dir, sender) > 0  # the conversation is in PostgreSQL

        # A worker crashes: the other answers through the same port; the launcher restarts it.
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: not alive(workers[0]), 10, "the worker did not die")
        post(webhook, {"sender": sender, "message": "0712 345 678"})
        assert "utter_status_shipped" in said(base, sender)
        wait_for(lambda: len([c for c in descendants(launcher.pid).values() if "bot.rasa_ext run" in c]) == 2,
                 60, "the worker was not restarted")
        assert "Rasa worker 1 exited with code -9" in (tmp_path / "launcher-1.log").read_text()

        # Killed without a chance to clean up, the launcher takes every process with it.
        processes = descendants(launcher.pid)
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in processes), 60, f"processes outlived the launcher: {processes}")
        wait_for(lambda: port_free(rasa_port) and port_free(action_port), 10, "ports stayed taken")

        # `make run` again: the conversation goes on where it was.
        launcher = launch("launcher-2.log")
        post(webhook, {"sender": sender, "message": "asante"})
        assert said(base, sender) == ["utter_you_are_welcome"]
        with urllib.request.urlopen(f"{base}/conversations/{sender}/tracker?token=launcher-test", timeout=30) as answer:
            events = json.loads(answer.read())["events"]
        assert [e["text"] for e in events if e["event"] == "user"] == [
            "habari, oda yangu 8170051200000006 iko wapi?", "0712 345 678", "asante"]
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGTERM)
            try:
                launcher.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
        for pid in descendants(launcher.pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(cluster_dir, ignore_errors=True)
