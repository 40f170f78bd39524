"""The HTTP endpoint: a real Sanic server with the channel registered as Rasa registers input
channels (``/webhooks/triage/``), parsing through the agent in ``app.ctx.agent``."""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp
import pytest
from rasa.core.channels.channel import register
from sanic import Sanic

from bot.triage.channel import TriageInput
from tests.harness import free_port
from tests.triage.conftest import DATA

TOKEN = "triage-test-token"
_names = itertools.count()


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch):
    """Several apps in one process: Sanic's test mode (no duplicate-name check, re-entrant
    touch-up of its protocol classes)."""
    monkeypatch.setattr(Sanic, "test_mode", True)


def serve_and_call(agent, channel: TriageInput, calls: list[tuple]) -> list:
    """Starts the app, makes the (method, path, body[, headers]) calls, returns [(status, json)]."""

    async def scenario() -> list:
        app = Sanic(f"triage_test_{next(_names)}", configure_logging=False)
        app.ctx.agent = agent
        register([channel], app, route="/webhooks/")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        results = []
        try:
            async with aiohttp.ClientSession() as session:
                for method, path, body, *headers in calls:
                    data = body if isinstance(body, str) else json.dumps(body) if body is not None else None
                    async with session.request(method, f"http://127.0.0.1:{port}{path}", data=data,
                                               headers={"Content-Type": "application/json",
                                                        **(headers[0] if headers else {})}) as response:
                        results.append((response.status, await response.json(content_type=None)))
        finally:
            server.close()
            await server.wait_closed()
        return results

    return asyncio.run(scenario())


def inbox_items(limit: int) -> list:
    items = []
    for raw in (DATA / "inbox.jsonl").read_bytes().splitlines():
        try:
            items.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
    return items[:limit]


def test_triage_endpoint(agent, service, replies):
    items = inbox_items(100)  # includes a record without text, a list and a number text: reported
    channel = TriageInput.from_credentials({"token": TOKEN})
    calls = [
        ("GET", "/webhooks/triage/", None),
        ("POST", f"/webhooks/triage/?token={TOKEN}", {"messages": items}),
        ("POST", "/webhooks/triage/", {"messages": items}),
        ("POST", "/webhooks/triage/", {"messages": items[:1]}, {"Authorization": f"Bearer {TOKEN}"}),
        ("POST", "/webhooks/triage/?token=wrong", {"messages": items}),
        ("POST", f"/webhooks/triage/?token={TOKEN}", {"text": "not a list"}),
        ("POST", f"/webhooks/triage/?token={TOKEN}", "{not json"),
        ("POST", f"/webhooks/triage/?token={TOKEN}", {"messages": [{"text": "hi"}] * 101}),
    ]
    health, ok, no_token, bearer, wrong, not_list, bad_json, too_many = serve_and_call(agent, channel, calls)
    assert health == (200, {"status": "ok"})
    assert bearer[0] == 200 and bearer[1]["rows"][0]["id"] == items[0]["id"]
    assert no_token[0] == wrong[0] == 401
    assert not_list[0] == bad_json[0] == 400 and too_many[0] == 413

    status, body = ok
    assert status == 200
    texts = [i for i, item in enumerate(items)
             if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip()]
    assert [row["index"] for row in body["rows"]] == texts
    assert {m["index"] for m in body["malformed"]} == set(range(len(items))) - set(texts)
    assert any(m["error"] == "missing text" for m in body["malformed"])
    assert body["summary"]["triaged"] == len(texts) and body["summary"]["malformed"] == len(items) - len(texts)
    rows = {row["id"]: row for row in body["rows"]}
    assert (rows["em-fr-011"]["owned"], rows["em-fr-011"]["priority"]) == ("yes", "urgent")
    assert rows["em-en-005"]["owned"] == "no" and rows["em-en-005"]["reply"] == replies.render("utter_order_not_found", "en")
    assert rows["chat-fr-013"]["verified_by"] == "channel" and rows["chat-fr-013"]["language"] == "fr"
    assert "line" not in rows["em-fr-011"]


def test_endpoint_is_off_without_any_token(agent, monkeypatch):
    monkeypatch.delenv("TRIAGE_TOKEN", raising=False)
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    (result,) = serve_and_call(agent, TriageInput.from_credentials(None),
                               [("POST", "/webhooks/triage/?token=", {"messages": []})])
    assert result[0] == 503
    monkeypatch.setenv("RASA_AUTH_TOKEN", "from-the-launcher")
    (result,) = serve_and_call(agent, TriageInput.from_credentials(None),
                               [("POST", "/webhooks/triage/?token=from-the-launcher", {"messages": []})])
    assert result[0] == 200 and (result[1]["rows"], result[1]["malformed"]) == ([], [])


CREDENTIALS_ENTRY = """
bot.triage.channel.TriageInput:
  token: ${TRIAGE_TOKEN:-}
  max_messages: ${TRIAGE_MAX_MESSAGES:-100}
"""


def test_credentials_entry_through_the_channel_template(tmp_path, monkeypatch):
    """The entry handed over for bot/credentials.yml, expanded as the launcher expands it."""
    from bot.channels.config import effective_channels

    template = tmp_path / "credentials.yml"
    template.write_text(CREDENTIALS_ENTRY, encoding="utf-8")
    enabled, disabled = effective_channels({}, template)
    assert disabled == {} and enabled == {"bot.triage.channel.TriageInput": {"token": "", "max_messages": "100"}}
    channel = TriageInput.from_credentials(enabled["bot.triage.channel.TriageInput"])
    monkeypatch.delenv("TRIAGE_TOKEN", raising=False)
    monkeypatch.setenv("RASA_AUTH_TOKEN", "api-token")
    assert (channel.max_messages, channel.token()) == (100, "api-token")
    enabled, _ = effective_channels({"TRIAGE_TOKEN": "own-token", "TRIAGE_MAX_MESSAGES": "20"}, template)
    channel = TriageInput.from_credentials(enabled["bot.triage.channel.TriageInput"])
    assert (channel.max_messages, channel.token()) == (20, "own-token")
