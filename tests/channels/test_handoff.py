"""Handoff on the messaging channels: the agent's console reply and the hand-back greeting reach
the customer on Telegram, WhatsApp (Twilio) and Slack (recorded by the local API stub), the
paused bot acknowledges once, and a new urgent ticket is announced on the Slack webhook."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.channels.conftest import SECRETS, TICKETS_WEBHOOK_PATH, TWILIO_WHATSAPP
from tests.channels.stub import text_of
from tests.channels.test_slack import dm_event, posted_to
from tests.channels.test_telegram import message_update, sent_to
from tests.channels.test_twilio import to, whatsapp
from tests.e2e.test_handoff_console import CONSOLE, Client

pytestmark = pytest.mark.needs_servers


@pytest.fixture(scope="module")
def agent(channel_servers) -> Client:
    client = Client(channel_servers.base)
    assert client.sign_in(SECRETS["AGENT_CONSOLE_PASSWORD"])[0] == 200
    return client


def ticket_of(agent: Client, conversation: str) -> dict:
    status, data, _ = agent.call("GET", f"/agent/api/tickets?conversation_id={quote(conversation)}")
    assert status == 200 and len(data["tickets"]) == 1, data
    return data["tickets"][0]


def messages(agent: Client, number: str) -> list[dict]:
    return agent.call("GET", f"/agent/api/tickets/{number}")[1]["messages"]


@pytest.fixture
def released(agent):
    """Tickets a test opened are closed at the end, so the shared conversations go back to the bot."""
    numbers: list[str] = []
    yield numbers
    for number in numbers:
        agent.call("POST", f"/agent/api/tickets/{number}/close", {}, CONSOLE)


def test_telegram_urgent_handoff_reply_and_hand_back(channel_servers, agent, released):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    # In the middle of withdrawing the dispute that platform mediation is handling, Oliver asks for a person.
    assert channel_servers.telegram(message_update(100003, "I want to withdraw my dispute on order 8170087700000018"))[0] == 200
    stub.wait_for(lambda c: sent_to(100003)(c) and c.params.get("reply_markup"), since=since)  # sure? yes / no
    since = len(stub.snapshot())
    assert channel_servers.telegram(message_update(100003, "i want to talk to a person"))[0] == 200
    opened = stub.wait_for(lambda c: sent_to(100003)(c) and "I've opened ticket" in text_of(c), since=since)[0]

    ticket = ticket_of(agent, "100003")
    released.append(ticket["number"])
    assert ticket["number"] in text_of(opened)
    assert (ticket["priority"], ticket["queue"], ticket["channel"], ticket["customer_name"], ticket["order_number"]) == (
        "urgent", "disputes", "telegram", "Oliver Smith", "8170087700000018")
    assert "dispute escalated" in ticket["summary"] and "needs help with cancel dispute" in ticket["summary"]
    # The support team's Slack channel hears about the urgent ticket, with a link to the console.
    hook = stub.wait_for(lambda c: c.service == "hooks" and ticket["number"] in text_of(c), since=since)[0]
    assert hook.path == TICKETS_WEBHOOK_PATH
    assert f"<https://bot.example.com/agent/#{ticket['number']}|{ticket['number']}>" in text_of(hook)
    details = agent.call("GET", f"/agent/api/tickets/{ticket['number']}")[1]
    assert details["order"]["number"] == "8170087700000018" and details["order"]["dispute"]["status"] == "escalated"
    assert details["customer"]["name"] == "Oliver Smith"

    since = len(stub.snapshot())
    status, sent, _ = agent.call("POST", f"/agent/api/tickets/{ticket['number']}/reply",
                                 {"text": "Hello Oliver, I'm looking at your parcel now."}, CONSOLE)
    assert (status, sent["delivered"]) == (200, "telegram")
    reply = stub.wait_for(lambda c: sent_to(100003)(c), since=since)[0]
    assert text_of(reply) == "Sam (support team): Hello Oliver, I'm looking at your parcel now."

    # The agent answered: the customer's answer reaches the console, and the bot stays quiet.
    assert channel_servers.telegram(message_update(100003, "thank you, it is for my daughter's birthday"))[0] == 200
    after = messages(agent, ticket["number"])
    assert after[-1] == {**after[-1], "from": "customer", "text": "thank you, it is for my daughter's birthday"}
    assert after[-2]["from"] == "agent" and after[-2]["agent"] == "Sam"

    since = len(stub.snapshot())
    status, handed, _ = agent.call("POST", f"/agent/api/tickets/{ticket['number']}/handback", {}, CONSOLE)
    assert (status, handed["delivered"]) == (200, "telegram")
    greeting = stub.wait_for(lambda c: sent_to(100003)(c), since=since)[0]
    assert text_of(greeting) == "I'm back. Is there anything else I can help you with?"


def test_whatsapp_acknowledges_once_and_the_agent_reply_reaches_whatsapp(channel_servers, agent, released):
    stub = channel_servers.stub
    wanjiku = "+254712345678"
    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp(wanjiku, "nataka kuongea na mtu"))[0] == 204
    stub.wait_for(lambda c: to(f"whatsapp:{wanjiku}")(c) and "Nimefungua tiketi" in text_of(c), since=since)
    ticket = ticket_of(agent, f"whatsapp:{wanjiku}")
    released.append(ticket["number"])
    assert (ticket["language"], ticket["channel"], ticket["customer_name"]) == ("sw", "twilio", "Wanjiku Kamau")

    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp(wanjiku, "uko hapo?"))[0] == 204
    assert channel_servers.twilio(whatsapp(wanjiku, "halo?"))[0] == 204
    acks = [c for c in stub.snapshot()[since:] if to(f"whatsapp:{wanjiku}")(c)]
    assert [text_of(c) for c in acks] == [
        "Asante, ujumbe wako umefika kwa timu yetu ya huduma kwa wateja. Mhudumu atakujibu hapa haraka iwezekanavyo."]
    assert [m["text"] for m in messages(agent, ticket["number"]) if m["from"] == "customer"][-2:] == ["uko hapo?", "halo?"]

    since = len(stub.snapshot())
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/reply",
                      {"text": "Habari Wanjiku, nimepokea ujumbe wako."}, CONSOLE)[1]["delivered"] == "twilio"
    sent = stub.wait_for(to(f"whatsapp:{wanjiku}"), since=since)[0]
    assert sent.params["From"] == f"whatsapp:{TWILIO_WHATSAPP}"
    assert text_of(sent) == "Sam (huduma kwa wateja): Habari Wanjiku, nimepokea ujumbe wako."

    since = len(stub.snapshot())
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/close", {}, CONSOLE)[0] == 200
    closed = stub.wait_for(to(f"whatsapp:{wanjiku}"), since=since)[0]
    assert text_of(closed).startswith(f"Timu yetu ya huduma kwa wateja imefunga tiketi {ticket['number']}.")


def test_slack_agent_reply_goes_to_the_customers_direct_message(channel_servers, agent, released):
    stub = channel_servers.stub
    dm = "D0AMINADM"
    since = len(stub.snapshot())
    assert channel_servers.slack(dm_event("U0AMINA", "je veux parler a un conseiller", channel=dm))[0] == 200
    stub.wait_for(lambda c: posted_to(dm)(c) and "J'ai ouvert le ticket" in text_of(c), since=since)
    ticket = ticket_of(agent, "U0AMINA")
    released.append(ticket["number"])
    assert (ticket["language"], ticket["channel"], ticket["customer_name"]) == ("fr", "slack", "Amina Diallo")

    since = len(stub.snapshot())
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/reply",
                      {"text": "Bonjour Amina, que puis-je faire pour vous ?"}, CONSOLE)[1]["delivered"] == "slack"
    posted = stub.wait_for(posted_to(dm), since=since)[0]
    assert text_of(posted) == "Sam (service client) : Bonjour Amina, que puis-je faire pour vous ?"

    since = len(stub.snapshot())
    assert agent.call("POST", f"/agent/api/tickets/{ticket['number']}/handback", {}, CONSOLE)[0] == 200
    back = stub.wait_for(posted_to(dm), since=since)[0]
    assert text_of(back) == "Me revoilà. Puis-je vous aider pour autre chose ?"
