"""Twilio (WhatsApp and SMS): signed form posts in, Messages API calls out, numbered options."""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from actions.orders.db import make_engine, session_factory
from actions.orders.models import Order, SupportTicket
from actions.orders.service import OrderService
from tests.channels.conftest import (
    FOLLOWUP_TEMPLATE,
    SECRETS,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_WHATSAPP,
    VERIFICATION_TTL,
    twilio_signature,
)
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


def service_of(channel_servers) -> OrderService:
    return OrderService(session_factory(make_engine(channel_servers.database_url)))


def customer(service: OrderService, order_number: str, email: str) -> int:
    found = service.verify_owner(order_number=order_number, contact=email)
    assert found is not None
    return found


def test_sms_sender_is_not_trusted_without_verification(channel_servers):
    stub, oliver = channel_servers.stub, "+447700900123"
    # Even a number linked to Oliver's account proves nothing over SMS (recycled numbers, spoofing).
    service = service_of(channel_servers)
    oliver_id = customer(service, "8170087700000006", "oliver.smith@example.co.uk")
    assert service.link_identity(customer_id=oliver_id, channel="sms", external_id=oliver).ok
    since = len(stub.snapshot())
    assert channel_servers.twilio(sms(oliver, "where is my order 8170087700000006"))[0] == 204
    replies = [c for c in stub.settle(since) if to(oliver)(c)]
    assert replies and all(c.params["From"] == TWILIO_NUMBER for c in replies)
    # The bot asks who is writing, and says nothing about the order.
    text = "\n".join(text_of(c) for c in replies)
    assert "e-mail" in text.lower() and "tracking" not in text.lower(), text


def ask(channel_servers, sender: str, text: str, form=None) -> str:
    """Sends an SMS or WhatsApp message and returns everything the bot answered to it."""
    stub = channel_servers.stub
    since = len(stub.snapshot())
    assert channel_servers.twilio((form or sms)(sender, text))[0] == 204
    return "\n".join(text_of(c) for c in stub.settle(since) if to(sender)(c) or to(f"whatsapp:{sender}")(c))


def test_sms_verification_runs_out(channel_servers):
    sender, question = "+447700900999", "where is my order 8170087700000006"
    assert "e-mail" in ask(channel_servers, sender, question).lower()
    verified = ask(channel_servers, sender, "oliver.smith@example.co.uk")
    verified_at = time.monotonic()
    assert re.search(r"8170087700000006.*tracking number", verified, re.S | re.I), verified
    again = ask(channel_servers, sender, question)  # still verified: answered at once
    assert time.monotonic() - verified_at < VERIFICATION_TTL, "too slow to check the verification in time"
    assert "tracking number" in again and "e-mail" not in again.lower(), again
    time.sleep(max(0.0, VERIFICATION_TTL + 1 - (time.monotonic() - verified_at)))
    expired = ask(channel_servers, sender, question)  # VERIFICATION_TTL_SECONDS later: asked again
    assert "e-mail" in expired.lower() and "tracking" not in expired.lower(), expired


def test_whatsapp_rate_limit_is_waited_out_and_the_answer_arrives(channel_servers):
    stub, wanjiku = channel_servers.stub, "+254712345678"
    since = len(stub.snapshot())
    stub.fail_next("twilio", "Messages.json", status=429, retry_after=1)
    assert channel_servers.twilio(whatsapp(wanjiku, "oda 8170051200000006 iko wapi?"))[0] == 204
    stub.wait_for(to(f"whatsapp:{wanjiku}"), since=since, count=2)
    sent = [c for c in stub.settle(since) if to(f"whatsapp:{wanjiku}")(c)]
    assert text_of(sent[0]) == text_of(sent[1])  # the refused message, sent again
    assert "8170051200000006" in "\n".join(text_of(c) for c in sent)


def test_every_message_asks_for_its_status_and_the_status_is_recorded(channel_servers):
    stub, wanjiku = channel_servers.stub, "whatsapp:+254712345678"
    since = len(stub.snapshot())
    assert channel_servers.twilio(whatsapp("+254712345678", "habari"))[0] == 204
    sent = stub.wait_for(to(wanjiku), since=since)[0]
    assert sent.params.get("StatusCallback") == channel_servers.env["TWILIO_STATUS_CALLBACK_URL"]
    report = {"MessageSid": "SM0000000000000000000000000000063a", "MessageStatus": "undelivered",
              "ErrorCode": "63016", "To": wanjiku, "From": f"whatsapp:{TWILIO_WHATSAPP}", "AccountSid": TWILIO_SID,
              "ApiVersion": "2010-04-01", "SmsStatus": "undelivered", "SmsSid": "SM0000000000000000000000000000063a"}
    assert channel_servers.twilio_status({**report, "MessageSid": "SMforged"}, sign=False)[0] == 403
    assert channel_servers.twilio_status(report)[0] == 204
    recorded = channel_servers.tracker(wanjiku)["slots"]["message_status"]
    assert recorded["sid"] == report["MessageSid"] and recorded["status"] == "undelivered"
    assert recorded["error_code"] == "63016"
    assert f"could not deliver message {report['MessageSid']} to conversation {wanjiku}" in channel_servers.log()


def old_whatsapp_conversation(channel_servers, number: str, customer_id: int, language: str) -> str:
    """A WhatsApp conversation whose buyer last wrote 25 hours ago (their number linked to them)."""
    service = service_of(channel_servers)
    assert service.link_identity(customer_id=customer_id, channel="whatsapp", external_id=number).ok
    conversation = f"whatsapp:{number}"
    then = time.time() - 25 * 3600
    channel_servers.api(f"{channel_servers.conversation_path(conversation)}/tracker/events", [
        {"event": "action", "name": "action_session_start", "timestamp": then},
        {"event": "session_started", "timestamp": then},
        {"event": "action", "name": "action_listen", "timestamp": then},
        {"event": "user", "text": "ok", "timestamp": then, "input_channel": "twilio",
         "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}, "entities": [], "text": "ok"}},
        {"event": "slot", "name": "language", "value": language, "timestamp": then},
    ])
    return conversation


def deadline_passes(channel_servers, conversation: str, order_number: str) -> None:
    """The 72 h reminder of the conversation fires (as Rasa's scheduler would trigger it)."""
    channel_servers.api(f"{channel_servers.conversation_path(conversation)}/trigger_intent?output_channel=latest",
                        {"name": "EXTERNAL_cancellation_deadline", "entities": {"order_id": order_number}})


def test_follow_up_after_the_24_hour_window_is_the_approved_template(channel_servers):
    stub, number, order = channel_servers.stub, "+447700900555", "8170087700000005"
    stub.templates[:] = [
        {"sid": "HX00000000000000000000000000000fr1", "friendly_name": FOLLOWUP_TEMPLATE, "language": "fr",
         "approval_requests": {"name": FOLLOWUP_TEMPLATE, "category": "UTILITY", "status": "approved"}},
        {"sid": "HX00000000000000000000000000000en0", "friendly_name": FOLLOWUP_TEMPLATE, "language": "en",
         "approval_requests": {"name": FOLLOWUP_TEMPLATE, "category": "UTILITY", "status": "rejected"}},
        {"sid": "HX00000000000000000000000000000en1", "friendly_name": FOLLOWUP_TEMPLATE, "language": "en",
         "approval_requests": {"name": FOLLOWUP_TEMPLATE, "category": "UTILITY", "status": "approved"}},
    ]
    oliver = customer(service_of(channel_servers), order, "oliver.smith@example.co.uk")
    conversation = old_whatsapp_conversation(channel_servers, number, oliver, "en")
    since = len(stub.snapshot())
    deadline_passes(channel_servers, conversation, order)
    sent = stub.wait_for(lambda c: to(conversation)(c) and c.method == "Messages.json", since=since)
    assert len(sent) == 1 and "Body" not in sent[0].params, sent[0].params
    assert sent[0].params["ContentSid"] == "HX00000000000000000000000000000en1"
    variables = json.loads(sent[0].params["ContentVariables"])
    assert variables["1"] == order and "refund" in variables["2"] and "\n" not in variables["2"]
    assert sent[0].params["From"] == f"whatsapp:{TWILIO_WHATSAPP}"


def test_follow_up_after_the_window_without_a_template_becomes_a_ticket(channel_servers):
    stub, number, order = channel_servers.stub, "+254700000555", "8170051200000005"
    service = service_of(channel_servers)
    wanjiku = customer(service, order, "wanjiku.kamau@example.co.ke")
    conversation = old_whatsapp_conversation(channel_servers, number, wanjiku, "sw")  # no template in Swahili
    since = len(stub.snapshot())
    deadline_passes(channel_servers, conversation, order)
    engine = make_engine(channel_servers.database_url)
    try:
        with session_factory(engine)() as session:
            tickets = session.execute(
                select(SupportTicket).join(Order, SupportTicket.order_id == Order.id).where(Order.number == order)
            ).scalars().all()
    finally:
        engine.dispose()
    assert [t.intent for t in tickets] == ["cancellation_followup"], tickets
    assert tickets[0].customer_id == wanjiku and "24-hour window" in tickets[0].summary
    assert str(tickets[0].language.value if hasattr(tickets[0].language, "value") else tickets[0].language) == "sw"
    time.sleep(1.5)
    assert not [c for c in stub.snapshot()[since:] if to(conversation)(c)]  # nothing sent to be dropped


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
