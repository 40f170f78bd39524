"""``--tickets``: triage files a ticket in the agents' queue for each message that needs a person,
once per message id (a second run of the same inbox files nothing new), with the customer only
when proven, and tells Slack about each new urgent ticket (local stub)."""

from __future__ import annotations

import json

import pytest

import actions.orders as orders
from actions.orders.db import make_engine, session_factory
from actions.orders.demo import seed
from actions.orders.schema import migrate
from actions.orders.service import OrderService
from bot.triage import cli
from tests.channels.stub import ApiStub, text_of
from tests.triage.conftest import DATA

WEBHOOK_PATH = "/hooks/services/T0SUPPORT/B0TICKETS/webhook-secret-0123"


@pytest.fixture()
def fresh_service(tmp_path, monkeypatch) -> OrderService:
    url = f"sqlite:///{tmp_path}/orders.db"
    migrate(url)
    svc = OrderService(session_factory(make_engine(url)))
    seed(session_factory(make_engine(url)))
    monkeypatch.setattr(orders, "_service", svc)
    return svc


@pytest.fixture()
def slack_hook(monkeypatch):
    stub = ApiStub().start()
    monkeypatch.setenv("SLACK_TICKETS_WEBHOOK_URL", stub.base + WEBHOOK_PATH)
    monkeypatch.setenv("AGENT_CONSOLE_URL", "https://support.example.com/agent/")
    yield stub
    stub.stop()


def run(capsys, tmp_path, model_path, name):
    out = tmp_path / f"{name}.jsonl"
    code = cli.main([str(DATA / "inbox.csv"), "--out", str(out), "--model", str(model_path), "--no-chart",
                     "--tickets"])
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return code, captured.out, rows


def test_triage_files_each_ticket_once(capsys, tmp_path, fresh_service, slack_hook, model_path, agent):
    code, stdout, rows = run(capsys, tmp_path, model_path, "first")
    assert code == 0
    needing = {r["id"]: r for r in rows if r["queue"] == "human" or r["priority"] in ("urgent", "high")}
    urgent = {i for i, r in needing.items() if r["priority"] == "urgent"}
    assert len(urgent) == 6 and len(needing) > len(urgent)
    assert f"tickets   {len(needing)} filed, 0 already filed" in stdout

    tickets = fresh_service.list_tickets(limit=1000)
    assert len(tickets) == len(needing)
    by_message = {t.source_message_id.rsplit(":", 1)[1]: t for t in tickets}
    assert set(by_message) == set(needing)
    for message_id, ticket in by_message.items():
        row = needing[message_id]
        assert (ticket.source, ticket.conversation_id, ticket.queue, ticket.priority, ticket.language) == (
            "triage", None, row["queue"], row["priority"], row["language"])
        assert message_id in ticket.summary and f"owned by the sender: {row['owned']}" in ticket.summary
        if row["owned"] == "yes":  # proven owner: the ticket is theirs, with the order
            assert ticket.customer_id is not None and ticket.order_number in row["orders"]
        else:
            assert ticket.customer_id is None and ticket.order_number is None
    email = by_message["em-en-001"]
    assert (email.reply_to, email.channel, email.customer_name) == ("oliver.smith@example.co.uk", "email",
                                                                     "Oliver Smith")

    hooks = slack_hook.wait_for(lambda c: c.service == "hooks", count=len(urgent))
    assert len(hooks) == len(urgent)
    assert all(c.path == WEBHOOK_PATH for c in hooks)
    announced = {t.number for t in tickets if t.priority == "urgent"}
    assert {text_of(c).split("|", 1)[1].split(">", 1)[0] for c in hooks} == announced
    assert all("https://support.example.com/agent/#T-" in text_of(c) for c in hooks)

    # The same inbox again: every ticket exists already, nothing new, nobody notified again.
    calls_before = len(slack_hook.snapshot())
    code, stdout, _ = run(capsys, tmp_path, model_path, "second")
    assert code == 0 and f"tickets   0 filed, {len(needing)} already filed" in stdout
    assert len(fresh_service.list_tickets(limit=1000)) == len(needing)
    assert len(slack_hook.snapshot()) == calls_before


def test_without_the_flag_triage_writes_nothing(capsys, tmp_path, fresh_service, model_path, agent):
    out = tmp_path / "plain.jsonl"
    assert cli.main([str(DATA / "inbox.csv"), "--out", str(out), "--model", str(model_path), "--no-chart"]) == 0
    assert "tickets" not in capsys.readouterr().out
    assert fresh_service.list_tickets(statuses=("open", "in_progress", "handed_back", "closed")) == []
