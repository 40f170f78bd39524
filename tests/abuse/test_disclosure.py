"""Someone else's order answers exactly like an order that does not exist, whoever asks: a REST user
proving who they are with their own e-mail/phone, or a customer signed in with a website token."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from actions.identity import TokenSettings, issue_token
from tests.abuse import report
from tests.abuse.corpus import FRAME, NO_SUCH_ORDER, OTHERS_ORDER, OWN_CONTACT
from tests.reliability.helpers import LANGUAGES, languages, responses
from tests.reliability.stack import JWT_SECRET

pytestmark = pytest.mark.needs_servers


def shape(replies: list[dict]) -> list[tuple]:
    """What the user sees, with nothing that could differ between two conversations removed."""
    return [(r.get("text"), tuple((b.get("title"), b.get("payload")) for b in r.get("buttons") or []))
            for r in replies]


def customer_ids(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, email FROM customers")).all()
    finally:
        engine.dispose()
    return {email: id_ for id_, email in rows}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rest_user_cannot_tell_others_orders_from_unknown_ones(stack, lang):
    seen = {}
    for label, number in (("others", OTHERS_ORDER[lang]), ("unknown", NO_SUCH_ORDER[lang])):
        sender = f"abuse-owner-{label}-{lang}-{uuid.uuid4().hex[:8]}"
        first = stack.say(sender, FRAME[lang].format(number))
        second = stack.say(sender, OWN_CONTACT[lang])
        seen[label] = (shape(first), shape(second))
        assert "utter_order_not_found" in responses(second) and languages(second) == {lang}, second
    report.add("others_orders_rest", inputs=2, requests=4, **{"2xx": 4},
               disclosures=int(seen["others"] != seen["unknown"]), verifications=2)
    assert seen["others"] == seen["unknown"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_in_customer_cannot_tell_others_orders_from_unknown_ones(stack, lang):
    email = {"en": "oliver.smith@example.co.uk", "fr": "amina.diallo@example.com",
             "sw": "wanjiku.kamau@example.co.ke"}[lang]
    token = issue_token(customer_ids(stack.database_url)[email], 600, TokenSettings(JWT_SECRET))
    seen = {}
    for label, number in (("others", OTHERS_ORDER[lang]), ("unknown", NO_SUCH_ORDER[lang])):
        sender = f"abuse-token-{label}-{lang}-{uuid.uuid4().hex[:8]}"
        replies = stack.say(sender, FRAME[lang].format(number), auth_token=token)
        seen[label] = shape(replies)
        assert "utter_order_not_found" in responses(replies) and languages(replies) == {lang}, replies
    report.add("others_orders_token", inputs=2, requests=2, **{"2xx": 2},
               disclosures=int(seen["others"] != seen["unknown"]), verifications=2)
    assert seen["others"] == seen["unknown"]


def test_requests_without_sender_do_not_share_a_conversation(stack):
    for message in ("I want to cancel my order 8170087700000003", "oliver.smith@example.co.uk"):
        stack.request("/webhooks/rest/webhook", {"message": message})  # client A, verified
    # Client B, also without a sender id, answers the next question of A's form.
    status, replies = stack.request("/webhooks/rest/webhook", {"message": "I don't need it anymore"})
    leaked = status == 200 and "8170087700000003" in " ".join(r.get("text") or "" for r in replies)
    report.add("sender_less", inputs=3, requests=3, disclosures=int(leaked))
    assert status == 400 or not leaked, replies
