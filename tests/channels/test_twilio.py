"""Twilio (WhatsApp and SMS): signed form posts in, Messages API calls out, numbered options."""

from __future__ import annotations

import itertools
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.channels.conftest import SECRETS, TWILIO_NUMBER, TWILIO_SID, TWILIO_WHATSAPP, twilio_signature
from tests.channels.stub import text_of

pytestmark = pytest.mark.needs_servers

_ids = itertools.count(1)


def whatsapp(sender: str, body: str) -> dict[str, str]:
    """The form Twilio posts for an incoming WhatsApp message."""
    n = next(_ids)
    return {
        "SmsMessageSid": f"SM{n:032d}", "NumMedia": "0", "ProfileName": "Wanjiku", "MessageType": "text",
        "SmsSid": f"SM{n:032d}", "WaId": sender.lstrip("+"), "SmsStatus": "received", "Body": body,
        "To": f"whatsapp:{TWILIO_WHATSAPP}", "NumSegments": "1", "ReferralNumMedia": "0",
        "MessageSid": f"SM{n:032d}", "AccountSid": TWILIO_SID, "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01",
    }


def sms(sender: str, body: str) -> dict[str, str]:
    n = next(_ids)
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": f"SM{n:032d}", "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": f"SM{n:032d}", "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "GB", "To": TWILIO_NUMBER, "ToZip": "", "NumSegments": "1",
        "MessageSid": f"SM{n:032d}", "AccountSid": TWILIO_SID, "From": sender, "ApiVersion": "2010-04-01",
    }


def to(recipient: str):
    return lambda c: c.service == "twilio" and c.params.get("To") == recipient


def test_whatsapp_customer_is_identified_and_buttons_become_numbered_options(channel_servers):
    stub, wanjiku = channel_servers.stub, "+254712345678"
    since = len(stub.snapshot())
    status, _ = channel_servers.twilio(whatsapp(wanjiku, "nataka kughairi oda 8170051200000003"))
    assert status == 204
    asked = stub.wait_for(lambda c: to(f"whatsapp:{wanjiku}")(c) and "\n1. " in text_of(c), since=since)[0]
    assert asked.params["From"] == f"whatsapp:{TWILIO_WHATSAPP}"
    assert asked.headers.get("Authorization", "").startswith("Basic ")
    body = text_of(asked)
    assert "barua pepe" not in body  # known WhatsApp number: no e-mail question
    assert re.search(r"^1\. Siihitaji tena$", body, re.M) and re.search(r"^6\. Sababu nyingine$", body, re.M), body
    assert asked.path == f"/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp(wanjiku, "1"))[0] == 204  # "1" -> first reason's payload
    confirm = stub.wait_for(lambda c: to(f"whatsapp:{wanjiku}")(c) and "8170051200000003" in text_of(c), since=since)[0]
    assert re.search(r"^1\. Ndiyo\n2\. Hapana$", text_of(confirm), re.M), text_of(confirm)

    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp(wanjiku, "2"))[0] == 204  # "2" -> Hapana (/deny): nothing filed
    reply = "\n".join(text_of(c) for c in stub.settle(since) if to(f"whatsapp:{wanjiku}")(c))
    assert reply and "1. " not in reply


def test_sms_sender_is_not_trusted_without_verification(channel_servers):
    stub, oliver = channel_servers.stub, "+447700900123"
    since = len(stub.snapshot())
    assert channel_servers.twilio(sms(oliver, "where is my order 8170087700000006"))[0] == 204
    replies = [c for c in stub.settle(since) if to(oliver)(c)]
    assert replies and all(c.params["From"] == TWILIO_NUMBER for c in replies)
    # No SMS identity is linked in the demo data: the bot asks who is writing.
    assert "e-mail" in "\n".join(text_of(c) for c in replies).lower()


def test_unsigned_or_forged_requests_are_refused(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp("+254712345678", "hello"), sign=False)[0] == 403
    form = whatsapp("+254712345678", "hello")
    signed_for_other_body = dict(form, Body="something else")
    signature = twilio_signature(SECRETS["TWILIO_AUTH_TOKEN"], f"{channel_servers.base}/webhooks/twilio/webhook",
                                 signed_for_other_body)
    request = urllib.request.Request(
        f"{channel_servers.base}/webhooks/twilio/webhook", data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    time.sleep(1)
    assert not [c for c in stub.snapshot()[since:] if c.service == "twilio"]
