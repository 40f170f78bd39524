"""No secret reaches the logs: the launcher's and the servers' output, after every channel ran."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.channels.conftest import SECRETS
from tests.channels.test_slack import dm_event
from tests.channels.test_telegram import message_update
from tests.channels.test_twilio import whatsapp

pytestmark = pytest.mark.needs_servers


def test_secrets_never_reach_the_logs(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    # One good and one refused request per channel, a web sign-in and an API call.
    channel_servers.telegram(message_update(100002, "habari", "Wanjiku"))
    channel_servers.telegram(message_update(100002, "habari", "Wanjiku"), secret="wrong")
    channel_servers.twilio(whatsapp("+447700900123", "hello"))
    channel_servers.twilio(whatsapp("+447700900123", "hello"), sign=False)
    channel_servers.slack(dm_event("U0WANJIKU", "habari"))
    channel_servers.slack(dm_event("U0WANJIKU", "habari"), secret="wrong")
    request = urllib.request.Request(
        f"{channel_servers.base}/webhooks/webchat/sign-in", data=json.dumps({"customer": "amina"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.loads(response.read())["token"]
    with urllib.request.urlopen(f"{channel_servers.base}/status?token={SECRETS['RASA_AUTH_TOKEN']}", timeout=30):
        pass
    stub.wait_for(lambda c: c.service == "slack" and c.method == "chat.postMessage", since=since)
    time.sleep(2)

    log = channel_servers.log()
    assert "[launcher] channels on: rest, socketio, webchat, telegram, twilio, slack, triage, agentconsole" in log
    assert "password: set by AGENT_CONSOLE_PASSWORD (not shown)" in log
    assert "Web chat: http://127.0.0.1:" in log
    assert "HTTP API token: set by RASA_AUTH_TOKEN (not shown)" in log
    for name, secret in {**SECRETS, "web token": token}.items():
        assert secret not in log, f"{name} appears in the launcher log"
