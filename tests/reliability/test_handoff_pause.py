"""A conversation handed to an agent stays with the agent past a session expiry and a restart of
the Rasa server: a new session starts (Rasa's would un-pause the bot), the bot still says nothing
but one acknowledgement, the agent sees the message in the console, and only the agent's hand-back
gives the conversation back to the bot."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from tests.reliability.stack import TOKEN, text

pytestmark = pytest.mark.needs_servers

AGED_SECONDS = 2 * 3600  # the domain's sessions expire after 60 minutes
ACK = "Thanks, your message is with our support team. An agent will reply here as soon as they can."
API = {"Authorization": f"Bearer {TOKEN}", "X-Agent-Name": "Sam"}


def age_conversation(tracker_db: str, sender: str, seconds: float) -> int:
    """Moves every stored event of the conversation ``seconds`` into the past (the server is down)."""
    with sqlite3.connect(tracker_db) as db:
        rows = db.execute("SELECT id, timestamp, data FROM events WHERE sender_id = ?", (sender,)).fetchall()
        for event_id, timestamp, data in rows:
            event = json.loads(data)
            event["timestamp"] = event["timestamp"] - seconds
            db.execute("UPDATE events SET timestamp = ?, data = ? WHERE id = ?",
                       (timestamp - seconds, json.dumps(event), event_id))
    return len(rows)


def test_pause_holds_past_session_expiry_and_a_restart(stack):
    sender = f"pause-{uuid.uuid4().hex[:10]}"
    assert "I've opened ticket T-" in text(stack.say(sender, "i want to talk to a person"))
    assert text(stack.say(sender, "hello?")) == ACK
    assert stack.say(sender, "hello??") == []

    rasa = stack["rasa"]
    rasa.stop()
    assert age_conversation(stack.tracker_store_url.removeprefix("sqlite:///"), sender, AGED_SECONDS) > 10
    rasa.start()
    rasa.wait_ready(300)

    # A new session starts, and the conversation is still the agent's: one acknowledgement, nothing else.
    assert text(stack.say(sender, "are you still there? my parcel 8170087700000006 is late")) == ACK
    tracker = stack.tracker(sender)
    assert tracker["paused"] is True
    kinds = [e["event"] for e in tracker["events"]]
    last_session = len(kinds) - 1 - kinds[::-1].index("session_started")
    assert kinds.index("session_started") < last_session  # a second session started after the expiry
    assert "pause" in kinds[last_session:] and "resume" not in kinds[last_session:]
    assert stack.say(sender, "hello???") == []

    status, listed = stack.request(f"/agent/api/tickets?conversation_id={sender}", headers=API)
    assert status == 200 and len(listed["tickets"]) == 1
    number = listed["tickets"][0]["number"]
    status, details = stack.request(f"/agent/api/tickets/{number}", headers=API)
    said = [m["text"] for m in details["messages"] if m["from"] == "customer"]
    assert said[-2:] == ["are you still there? my parcel 8170087700000006 is late", "hello???"]
    assert details["paused"] is True and details["can_reply"] is True
    assert [m["event"] for m in details["messages"] if m["from"] == "system"].count("new_session") >= 2

    status, handed = stack.request(f"/agent/api/tickets/{number}/handback", {}, headers=API)
    assert status == 200 and handed["ticket"]["status"] == "handed_back"
    replies = [r.get("text") for r in stack.say(sender, "where is my order 8170087700000006?")]
    assert replies[0] == "I'm back. Is there anything else I can help you with?"
    assert any("e-mail address or phone number" in (r or "") for r in replies[1:])
    assert stack.tracker(sender)["paused"] is False
