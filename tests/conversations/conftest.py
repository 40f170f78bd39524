"""Servers for the conversation tests: the real launcher (action server, Rasa server, REST channel)
over a temporary order database that is reloaded with the demo data before every conversation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actions.identity import TokenSettings, issue_token
from tests.conftest import ROOT
from tests.conversations import coverage
from tests.conversations.runner import Player
from tests.e2e.conftest import JWT_SECRET
from tests.harness import free_port, served_model

REPORT = ROOT / "results" / "conversations" / "coverage.md"
TOKEN = "conversation-tests-token"


def website_token(customer_id: int) -> str:
    """The token the website's login would give (audience and issuer: the defaults of .env.example)."""
    return issue_token(customer_id, 3600, TokenSettings(JWT_SECRET))


@pytest.fixture(scope="session")
def player(tmp_path_factory) -> Player:
    tmp: Path = tmp_path_factory.mktemp("conversations")
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
        # Conversations deliberately fail verifications (someone else's order) in three languages;
        # the rate limit itself is tested in tests/abuse.
        "VERIFY_MAX_FAILURES": "100000",
    }
    log_path = tmp / "launcher.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.launcher", "--model", str(served_model())],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if "Ready." in log_path.read_text(errors="replace"):
            break
        time.sleep(1)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail("servers did not start:\n" + log_path.read_text(errors="replace")[-5000:])
    yield Player(f"http://127.0.0.1:{rasa_port}", TOKEN, env["DATABASE_URL"], website_token)
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture()
def demo_orders(player: Player) -> None:
    """Every conversation starts from the demo data as `make run` loads it."""
    from sqlalchemy import text

    from actions.orders.db import make_engine, session_factory
    from actions.orders.demo import seed

    engine = make_engine(player.database_url)
    try:
        seed(session_factory(engine))
        with engine.begin() as connection:  # tickets are not demo data: each conversation counts its own
            connection.execute(text("DELETE FROM support_tickets"))
    finally:
        engine.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook
    player = getattr(config, "_conversation_player", None)
    if player is None or not player.seen:
        return
    rows = coverage.table(player.seen)
    coverage.save(rows, REPORT)
    terminalreporter.write_sep("-", "conversation coverage")
    terminalreporter.write_line(coverage.render(rows, limit=8))
    terminalreporter.write_line(f"(saved to {REPORT.relative_to(ROOT)})")
