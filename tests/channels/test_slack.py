"""Slack: signed Events API / interactivity posts in, chat.postMessage calls out."""

from __future__ import annotations

import itertools
import json
import re
import time

import pytest

from actions.orders.db import make_engine, session_factory
from actions.orders.service import OrderService
from tests.channels.stub import text_of

pytestmark = pytest.mark.needs_servers

_ids = itertools.count(1)
DM = "D0OLIVERDM"


def dm_event(user: str, text: str, channel: str = DM) -> dict:
    """The Events API callback for a direct message to the bot."""
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    return {
        "token": "verification-token-unused", "team_id": "T0MARKET", "api_app_id": "A0SUPPORT",
        "event": {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                  "channel_type": "im", "event_ts": ts, "client_msg_id": f"00000000-0000-0000-0000-{n:012d}"},
        "type": "event_callback", "event_id": f"Ev0{n:08d}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T0MARKET", "user_id": "U0SUPPORTBOT",
                            "is_bot": True, "is_enterprise_install": False}],
    }


def button_click(user: str, value: str, title: str, channel: str = DM) -> dict:
    """The interactivity payload Slack posts when a Block Kit button is pressed."""
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    return {
        "type": "block_actions", "user": {"id": user, "username": "oliver", "team_id": "T0MARKET"},
        "api_app_id": "A0SUPPORT", "token": "verification-token-unused",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{n}.trigger", "team": {"id": "T0MARKET", "domain": "market"},
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": ts, "text": "(the bot's question)", "user": "U0SUPPORTBOT"},
        "actions": [{"action_id": "button_1", "block_id": "b1", "text": {"type": "plain_text", "text": title},
                     "value": value, "type": "button", "action_ts": ts}],
    }


def posted_to(channel: str):
    return lambda c: c.service == "slack" and c.method == "chat.postMessage" and c.params.get("channel") == channel


def buttons_of(call) -> list[dict]:
    for block in call.json_param("blocks") or []:
        if block.get("type") == "actions":
            return block["elements"]
    return []


def test_slack_user_cancels_with_buttons_and_the_request_is_filed(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.slack(dm_event("U0OLIVER", "I want to cancel order 8170087700000003"))
    assert status == 200
    asked = stub.wait_for(lambda c: posted_to(DM)(c) and buttons_of(c), since=since)[0]
    assert asked.headers.get("Authorization") == f"Bearer {channel_servers.env['SLACK_BOT_TOKEN']}"
    reasons = buttons_of(asked)
    assert [b["text"]["text"] for b in reasons][:2] == ["I no longer need it", "Wrong item, size or colour"]
    assert len(reasons) == 6  # Rasa's own Slack channel would drop every button above 5

    since = len(stub.snapshot())
    status, _ = channel_servers.slack(button_click("U0OLIVER", reasons[0]["value"], "I no longer need it"), form=True)
    assert status == 200
    confirm = stub.wait_for(lambda c: posted_to(DM)(c) and buttons_of(c), since=since)[0]
    assert "8170087700000003" in text_of(confirm)
    yes = buttons_of(confirm)[0]
    assert yes["text"]["text"] == "Yes"

    since = len(stub.snapshot())
    assert channel_servers.slack(button_click("U0OLIVER", yes["value"], "Yes"), form=True)[0] == 200
    done = stub.wait_for(lambda c: posted_to(DM)(c) and "cancellation request" in text_of(c), since=since)[0]
    assert re.search(r"8170087700000003.*reference", text_of(done), re.S)

    service = OrderService(session_factory(make_engine(channel_servers.database_url)))
    oliver = service.verify_owner(order_number="8170087700000003", contact="oliver.smith@example.co.uk")
    order = service.get_order(order_number="8170087700000003", customer_id=oliver)
    assert order.cancellation_state == "awaiting_seller", order
    assert order.cancellation.status == "pending_seller" and order.cancellation.reason == "no_longer_needed"


def test_unsigned_forged_or_replayed_events_are_refused(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    event = dm_event("U0OLIVER", "where is my order 8170087700000006")
    assert channel_servers.slack(event, secret="not-the-signing-secret")[0] == 400
    assert channel_servers.slack(event, timestamp=int(time.time()) - 3600)[0] == 400  # replay
    time.sleep(1.5)
    assert not [c for c in stub.snapshot()[since:] if c.service == "slack"]


def test_url_verification_challenge(channel_servers):
    status, body = channel_servers.slack({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                                          "type": "url_verification"})
    assert status == 200 and json.loads(body) == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def mention_event(user: str, text: str, channel: str = "C0GENERAL") -> dict:
    """The Events API callback for a mention of the bot in a shared channel."""
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    return {
        "token": "verification-token-unused", "team_id": "T0MARKET", "api_app_id": "A0SUPPORT",
        "event": {"type": "app_mention", "channel": channel, "user": user, "text": f"<@U0SUPPORTBOT> {text}",
                  "ts": ts, "event_ts": ts, "client_msg_id": f"00000000-0000-0000-0000-{n:012d}"},
        "type": "event_callback", "event_id": f"Ev0{n:08d}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T0MARKET", "user_id": "U0SUPPORTBOT",
                            "is_bot": True, "is_enterprise_install": False}],
    }


def test_a_mention_in_a_shared_channel_is_answered_in_a_direct_message(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.slack(mention_event("U0OLIVER", "where is my order 8170087700000006"))
    assert status == 200
    answer = stub.wait_for(lambda c: posted_to(DM)(c) and "8170087700000006" in text_of(c), since=since)[0]
    note = stub.wait_for(lambda c: c.service == "slack" and c.method == "chat.postEphemeral", since=since)[0]
    calls = stub.settle(since)
    text = "\n".join(text_of(c) for c in calls if posted_to(DM)(c))
    assert re.search(r"8170087700000006.*shipped.*tracking number", text, re.S | re.I), text
    assert answer.headers.get("Authorization") == f"Bearer {channel_servers.env['SLACK_BOT_TOKEN']}"
    opened = [c for c in calls if c.method == "conversations.open"]
    assert opened and opened[0].params.get("users") == "U0OLIVER"
    # The shared channel gets nothing but a note only Oliver sees, without any order detail.
    in_channel = [c for c in calls if c.service == "slack" and c.params.get("channel") == "C0GENERAL"]
    assert in_channel == [note]
    assert note.params.get("user") == "U0OLIVER"
    assert "direct message" in text_of(note)
    assert not re.search(r"\d{6,}|tracking|shipped", text_of(note), re.I), text_of(note)


def test_slack_rate_limit_is_waited_out_and_the_answer_arrives(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    stub.fail_next("slack", "chat.postMessage", status=429, retry_after=1)
    status, _ = channel_servers.slack(dm_event("U0OLIVER", "where is my order 8170087700000006"))
    assert status == 200
    stub.wait_for(lambda c: posted_to(DM)(c) and "8170087700000006" in text_of(c), since=since, count=2)
    posts = [c for c in stub.settle(since) if posted_to(DM)(c)]
    # the refused post and its retry carry the same text; the message is not lost nor doubled
    assert text_of(posts[0]) == text_of(posts[1])
    assert sum(1 for c in posts if text_of(c) == text_of(posts[0])) == 2
