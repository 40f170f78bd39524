"""The agent console against the real servers (REST customers; the browser test drives the page):
sign-in, lockout, sessions the web chat cannot read or forge, no conversation without a ticket,
one acknowledgement while paused, replies and the hand-back greeting with a REST client's next
exchange, closing, the audit trail, and ``python -m bot.handback`` with the default settings."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit

import jwt
import pytest
from sqlalchemy import select

from actions.orders.db import make_engine, session_factory
from actions.orders.models import AuditLog
from actions.orders.service import OrderService
from tests.conftest import ROOT
from tests.e2e.conftest import JWT_SECRET

pytestmark = pytest.mark.needs_servers

CONSOLE = {"X-Requested-With": "agent-console"}


class Client:
    """HTTP from a chosen local address (the sign-in lockout is per address), with one cookie."""

    def __init__(self, base: str, source: str = "127.0.0.1") -> None:
        parts = urlsplit(base)
        self.host, self.port, self.source = parts.hostname, parts.port, source
        self.cookie: str | None = None

    def call(self, method: str, path: str, body=None, headers=None, cookie: bool = True):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60, source_address=(self.source, 0))
        sent = {"Content-Type": "application/json", **(headers or {})}
        if cookie and self.cookie:
            sent["Cookie"] = f"agent_session={self.cookie}"
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = connection.getresponse()
            raw = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("agent_session="):
                    self.cookie = value.split(";", 1)[0].split("=", 1)[1] or None
            try:
                data = json.loads(raw or b"null")
            except ValueError:
                data = raw.decode(errors="replace")
            return response.status, data, response.headers
        finally:
            connection.close()

    def sign_in(self, password: str, name: str = "Sam"):
        return self.call("POST", "/agent/api/session", {"name": name, "password": password}, CONSOLE)


@pytest.fixture(scope="module")
def agent(servers) -> Client:
    client = Client(servers.base)
    status, data, _ = client.sign_in(servers.agent_password)
    assert (status, data) == (200, {"agent": "Sam"})
    return client


def ticket_of(client: Client, conversation: str) -> dict:
    status, data, _ = client.call("GET", f"/agent/api/tickets?conversation_id={quote(conversation)}")
    assert status == 200 and len(data["tickets"]) == 1, data
    return data["tickets"][0]


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text", "") for r in replies]


def test_console_page_is_local_with_a_strict_policy(servers):
    client = Client(servers.base)
    status, page, headers = client.call("GET", "/agent/")
    assert status == 200 and 'src="static/console.js"' in page and "https://" not in page
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for name in ("console.js", "console.css"):
        status, body, headers = client.call("GET", f"/agent/static/{name}")
        assert status == 200 and "https://" not in body and headers["Content-Security-Policy"] == policy
    assert client.call("GET", "/agent/static/..%2Fconsole.py")[0] == 404
    assert client.call("GET", "/agent/static/.hidden")[0] == 404


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_address(servers):
    attacker = Client(servers.base, source="127.0.0.23")
    for _ in range(4):
        status, data, _ = attacker.sign_in("not-the-password")
        assert (status, data) == (401, {"error": "wrong password"})
    status, _, headers = attacker.sign_in("still-not-it")
    assert status == 429 and int(headers["Retry-After"]) > 60
    # Locked: even the right password is refused from that address, without a session.
    status, _, _ = attacker.sign_in(servers.agent_password)
    assert status == 429 and attacker.cookie is None
    assert attacker.call("GET", "/agent/api/tickets")[0] == 401
    # Another address is not locked out.
    colleague = Client(servers.base, source="127.0.0.24")
    assert colleague.sign_in(servers.agent_password)[0] == 200
    assert servers.agent_password not in servers.log_path.read_text(errors="replace").split("Ctrl-C stops", 1)[1]


def test_the_session_cannot_be_read_by_the_web_chat_nor_forged(servers, agent):
    client = Client(servers.base, source="127.0.0.25")
    status, _, headers = client.sign_in(servers.agent_password, name="Léa")
    cookie = headers["Set-Cookie"]
    assert status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent" in cookie
    assert client.call("GET", "/agent/api/session")[1]["agent"] == "Léa"

    anonymous = Client(servers.base)
    assert anonymous.call("GET", "/agent/api/session")[1] == {"agent": None, "sign_in": True}
    for path in ("/agent/api/tickets", "/agent/api/tickets/T-000001"):
        assert anonymous.call("GET", path)[0] == 401
    # A customer's web chat token (AUTH_JWT_SECRET), as cookie or bearer, is not an agent session.
    status, signed, _ = anonymous.call("POST", "/webhooks/webchat/sign-in", {"customer": "oliver"})
    assert status == 200
    forged = jwt.encode({"sub": "Sam", "aud": "agent-console", "exp": int(time.time()) + 600}, JWT_SECRET,
                        algorithm="HS256")
    for token in (signed["token"], forged):
        anonymous.cookie = token
        assert anonymous.call("GET", "/agent/api/tickets")[0] == 401
        assert anonymous.call("GET", "/agent/api/tickets", headers={"Authorization": f"Bearer {token}"},
                              cookie=False)[0] == 401
    # With the cookie, a state change must come from the console page itself.
    assert agent.call("POST", "/agent/api/tickets/T-000001/close", {})[0] == 403
    assert agent.call("POST", "/agent/api/tickets/T-000001/close", {},
                      {**CONSOLE, "Origin": "https://evil.example.com"})[0] == 403
    assert agent.call("POST", "/agent/api/tickets/T-000001/close", {},
                      {"Authorization": "Bearer not-the-api-token"})[0] == 403  # a wrong token is no excuse
    assert client.call("POST", "/agent/api/session", {"name": "X", "password": servers.agent_password},
                       {**CONSOLE, "Origin": "https://evil.example.com"})[0] == 403
    assert client.call("DELETE", "/agent/api/session", headers=CONSOLE)[0] == 200
    assert client.call("GET", "/agent/api/session")[1]["agent"] is None
    assert client.call("GET", "/agent/api/tickets")[0] == 401


def test_an_agent_cannot_open_a_conversation_without_a_ticket(servers, agent):
    sender = f"no-ticket-{uuid.uuid4().hex[:8]}"
    assert servers.say(sender, "hi, where is my order 8170087700000006?")
    status, data, _ = agent.call("GET", f"/agent/api/tickets?conversation_id={sender}&status=all")
    assert (status, data["tickets"]) == (200, [])
    for path in (f"/agent/api/tickets/{sender}", f"/agent/api/tickets/{sender}/messages",
                 f"/agent/api/conversations/{sender}", f"/agent/api/conversations/{sender}/messages"):
        assert agent.call("GET", path)[0] == 404, path
    assert agent.call("POST", f"/agent/api/tickets/{sender}/reply", {"text": "hello"}, CONSOLE)[0] == 404
    listed = agent.call("GET", "/agent/api/tickets?status=all")[1]["tickets"]
    assert sender not in {t["conversation_id"] for t in listed}


def test_rest_customer_agent_reply_hand_back_and_close(servers, agent):
    sender = f"rest-sw-{uuid.uuid4().hex[:8]}"
    opened = servers.text(servers.say(sender, "nataka kuongea na mtu"))
    assert "Nimefungua tiketi T-" in opened
    # While paused: one acknowledgement in the customer's language, then silence.
    assert texts(servers.say(sender, "uko hapo?")) == [
        "Asante, ujumbe wako umefika kwa timu yetu ya huduma kwa wateja. Mhudumu atakujibu hapa haraka iwezekanavyo."]
    assert servers.say(sender, "halo? nasubiri") == []

    ticket = ticket_of(agent, sender)
    assert (ticket["language"], ticket["queue"], ticket["channel"], ticket["status"]) == ("sw", "human", "rest", "open")
    assert ticket["summary"].startswith("Customer writing in Swahili asked for a person")
    status, details, _ = agent.call("GET", f"/agent/api/tickets/{ticket['number']}")
    assert status == 200 and details["paused"] and details["can_reply"]
    customer_said = [m["text"] for m in details["messages"] if m["from"] == "customer"]
    assert customer_said[-2:] == ["uko hapo?", "halo? nasubiri"]

    status, sent, _ = agent.call("POST", f"/agent/api/tickets/{ticket['number']}/reply",
                                 {"text": "Habari, naangalia tatizo lako sasa hivi."}, CONSOLE)
    assert status == 200 and sent["delivered"] == "next_exchange" and sent["ticket"]["first_response"]
    # REST: the agent's message comes first in the answer to the customer's next message.
    replies = servers.say(sender, "sawa, asante")
    assert replies == [{"recipient_id": sender, "from": "agent", "agent": "Sam",
                        "text": "Sam (huduma kwa wateja): Habari, naangalia tatizo lako sasa hivi."}]
    count = details["count"]
    new = agent.call("GET", f"/agent/api/tickets/{ticket['number']}/messages?after={count}")[1]["messages"]
    assert [(m["from"], m["text"]) for m in new] == [("agent", "Habari, naangalia tatizo lako sasa hivi."),
                                                     ("customer", "sawa, asante")]

    status, handed, _ = agent.call("POST", f"/agent/api/tickets/{ticket['number']}/handback", {}, CONSOLE)
    assert status == 200 and handed["ticket"]["status"] == "handed_back" and handed["delivered"] == "next_exchange"
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/reply", {"text": "x"}, CONSOLE)[0] == 409
    # The bot has the conversation again and answers in Swahili.
    replies = texts(servers.say(sender, "oda yangu 8170051200000006 iko wapi?"))
    assert replies[0] == "Nimerudi. Kuna kitu kingine naweza kukusaidia?"
    assert "barua pepe" in " ".join(replies[1:])  # asks for the proof of identity, in Swahili

    status, closed, _ = agent.call("POST", f"/agent/api/tickets/{ticket['number']}/close", {}, CONSOLE)
    assert status == 200 and closed["ticket"]["status"] == "closed" and closed["greeted"] is False
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/handback", {}, CONSOLE)[0] == 409

    service = OrderService(session_factory(make_engine(servers.database_url)))
    stored = service.get_ticket(number=ticket["number"])
    assert (stored.status, stored.agent, stored.conversation_id) == ("closed", "Sam", sender)
    assert stored.first_response_at <= stored.handed_back_at <= stored.closed_at
    with session_factory(make_engine(servers.database_url))() as session:
        audit = session.execute(select(AuditLog.actor, AuditLog.action, AuditLog.channel)
                                .where(AuditLog.entity_id == ticket["number"]).order_by(AuditLog.id)).all()
    assert [tuple(row) for row in audit] == [
        ("anonymous", "ticket.opened", "rest"), ("agent:Sam", "ticket.agent_replied", "console"),
        ("agent:Sam", "ticket.status_set", "console"), ("agent:Sam", "ticket.status_set", "console")]


def test_closing_greets_the_customer_with_the_ticket_number(servers, agent):
    sender = f"rest-fr-{uuid.uuid4().hex[:8]}"
    assert "J'ai ouvert le ticket" in servers.text(servers.say(sender, "je veux parler a un humain"))
    ticket = ticket_of(agent, sender)
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/close", {}, CONSOLE)[1]["greeted"] is True
    replies = texts(servers.say(sender, "merci"))
    assert replies[0] == (f"Notre service client a fermé le ticket {ticket['number']}. "
                          "Me revoilà ; puis-je vous aider pour autre chose ?")
    assert len(replies) >= 2  # and the bot answers the message itself


def test_handback_cli_works_with_the_default_settings(servers):
    sender = f"cli-{uuid.uuid4().hex[:8]}"
    assert "I've opened ticket" in servers.text(servers.say(sender, "i want to talk to a human"))
    env = {**servers.env, "RASA_AUTH_TOKEN": ""}  # as make run's defaults: generated, published for clients
    run = subprocess.run([sys.executable, "-m", "bot.handback", sender], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "handed_back" in run.stdout and "next message" in run.stdout
    assert servers.token not in run.stdout + run.stderr
    assert texts(servers.say(sender, "thanks"))[0] == "I'm back. Is there anything else I can help you with?"
    again = subprocess.run([sys.executable, "-m", "bot.handback", sender], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 1 and "has no open ticket" in again.stderr
    wrong = subprocess.run([sys.executable, "-m", "bot.handback", sender, "--ticket", "T-000001"], cwd=ROOT,
                           env={**env, "RASA_AUTH_TOKEN": "wrong-token"}, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "refused the API token" in wrong.stderr and "wrong-token" not in wrong.stderr
