"""Human handoff in a real browser, two contexts side by side: a customer in the web chat and a
support agent in the console (``tests/e2e/browser/handoff.mjs``, Debian's Chromium driven by
playwright-core, from the ``browser`` fixture, installed by ``make services``; missing, the test fails in CI).

The customer asks for a person; the agent signs in, sees the ticket with its summary, answers; the
customer sees the answer and replies; the agent sees the reply and hands back; the bot greets the
customer and answers the next message in French. The ticket is then checked in the database.
Console screenshots go to ``docs/img/`` when missing or with ``UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

from actions.orders.db import make_engine, session_factory
from actions.orders.service import OrderService
from tests.conftest import ROOT

pytestmark = pytest.mark.needs_servers

SCRIPT = ROOT / "tests" / "e2e" / "browser" / "handoff.mjs"
DOC_SHOTS = ROOT / "docs" / "img"
SHOTS = ("console-queue.png", "console-ticket.png", "handoff-webchat-fr.png")


def other_customers_ask_for_a_person(servers) -> None:
    """Two more tickets in the queue the agent sees: an urgent English one (Oliver, in the middle of
    withdrawing a dispute that platform mediation handles) and a Swahili one."""
    oliver = f"queue-en-{uuid.uuid4().hex[:8]}"
    servers.say(oliver, "I want to withdraw my dispute on order 8170087700000018")
    servers.say(oliver, "oliver.smith@example.co.uk")
    assert "I've opened ticket" in servers.text(servers.say(oliver, "i want to talk to a person"))
    assert "Nimefungua tiketi" in servers.text(servers.say(f"queue-sw-{uuid.uuid4().hex[:8]}", "nataka kuongea na mtu"))


def test_customer_and_agent_in_two_browsers(servers, browser, tmp_path):
    other_customers_ask_for_a_person(servers)
    shots, result_file = tmp_path / "screenshots", tmp_path / "result.json"
    run = subprocess.run(
        ["node", str(SCRIPT)],
        env={**os.environ, "PLAYWRIGHT_CORE_DIR": str(browser.playwright_core), "CHROMIUM": browser.chromium,
             "BASE_URL": servers.base, "SCREENSHOT_DIR": str(shots), "RESULT_FILE": str(result_file),
             "AGENT_PASSWORD": servers.agent_password,
             "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "no-downloaded-browsers")},
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    assert run.returncode == 0, f"{run.stderr[-4000:]}\n{json.dumps(result, indent=1)[:4000]}"
    assert result["external_requests"] == [] and result["console_errors"] == []

    steps, number = result["steps"], result["ticket"]
    assert "Customer writing in French asked for a person" in steps["queue_row"] and "Amina Diallo" in steps["queue_row"]
    assert "Amina Diallo" in steps["facts"]
    assert steps["reply_seen"] == "Sam (service client) : Bonjour Amina, je regarde votre commande 8170034500000007 " \
                                  "tout de suite."
    assert steps["greeting"] == "Me revoilà. Puis-je vous aider pour autre chose ?"
    assert steps["acks"] == 1  # two messages while waiting, one acknowledgement

    service = OrderService(session_factory(make_engine(servers.database_url)))
    ticket = service.get_ticket(number=number)
    assert (ticket.status, ticket.channel, ticket.conversation_id, ticket.agent, ticket.language) == (
        "handed_back", "socketio", result["session_id"], "Sam", "fr")
    assert ticket.customer_name == "Amina Diallo" and ticket.first_response_at <= ticket.handed_back_at

    for name in SHOTS:
        shot = shots / name
        assert shot.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not (DOC_SHOTS / name).exists():
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOC_SHOTS / name)
