"""Who is talking: website tokens, messaging-channel identities, e-mail/phone verifications and how
they end; the settings that switch the demo sign-in; sending retries. No server: the end-to-end
checks are in tests/e2e/test_security.py and tests/channels/."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest
from rasa_sdk import Tracker

from actions.identity import (
    TokenSettings,
    customer_from_token,
    is_platform_sender_id,
    issue_token,
    sign_in_state,
    trusted_identity,
)
from actions.skills import context as ctx
from bot import settings
from bot.channels.config import effective_channels
from bot.channels.limits import client_metadata
from bot.channels.retry import NotDelivered, Retryable, RetryPolicy, retry_after_seconds, send_with_retries
from bot.channels.telegram import start_greeting
from bot.channels.twilio import status_callback_for
from bot.channels.webchat import WebChatInput

SETTINGS = TokenSettings(secret="unit-test-secret-0123456789abcdef0123456789")


# --- website tokens ---------------------------------------------------------------------------------

def test_a_token_names_its_customer_until_it_expires():
    token = issue_token(7, 60, SETTINGS)
    assert customer_from_token(token, SETTINGS) == 7
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == SETTINGS.audience and claims["iss"] == SETTINGS.issuer
    assert claims["exp"] - claims["iat"] == 60
    assert customer_from_token(issue_token(7, 60, SETTINGS, now=time.time() - 61), SETTINGS) is None


@pytest.mark.parametrize("change", [
    {"secret": "another-secret-0123456789abcdef0123456789"},
    {"audience": "another-audience"},
    {"issuer": "another-issuer"},
])
def test_a_token_from_elsewhere_names_nobody(change):
    assert customer_from_token(issue_token(7, 60, replace(SETTINGS, **change)), SETTINGS) is None


@pytest.mark.parametrize("claims", [
    {"sub": "7", "aud": SETTINGS.audience, "iss": SETTINGS.issuer},  # no exp
    {"sub": "7", "iss": SETTINGS.issuer, "exp": 2**40},  # no aud
    {"sub": "7", "aud": SETTINGS.audience, "exp": 2**40},  # no iss
    {"aud": SETTINGS.audience, "iss": SETTINGS.issuer, "exp": 2**40},  # no sub
    {"sub": "amina", "aud": SETTINGS.audience, "iss": SETTINGS.issuer, "exp": 2**40},  # not an id
])
def test_a_token_missing_a_claim_names_nobody(claims):
    assert customer_from_token(jwt.encode(claims, SETTINGS.secret, algorithm="HS256"), SETTINGS) is None


def test_unsigned_or_non_string_tokens_name_nobody():
    claims = {"sub": "7", "aud": SETTINGS.audience, "iss": SETTINGS.issuer, "exp": 2**40}
    assert customer_from_token(jwt.encode(claims, None, algorithm="none"), SETTINGS) is None
    for value in (None, 7, "", "x" * 5000, {"sub": "7"}):
        assert customer_from_token(value, SETTINGS) is None
    assert customer_from_token(issue_token(7, 60, SETTINGS), replace(SETTINGS, secret="")) is None


def test_settings_and_defaults_agree():
    """The defaults in .env.example are the ones the code falls back to (tests mint tokens with them)."""
    from dotenv import dotenv_values

    from tests.conftest import ROOT

    example = dotenv_values(ROOT / ".env.example")
    assert TokenSettings.from_env({"AUTH_JWT_SECRET": "s"}) == TokenSettings.from_env(
        {"AUTH_JWT_SECRET": "s", "AUTH_JWT_AUDIENCE": example["AUTH_JWT_AUDIENCE"],
         "AUTH_JWT_ISSUER": example["AUTH_JWT_ISSUER"]})


# --- messaging channels ----------------------------------------------------------------------------

@pytest.mark.parametrize("channel, sender, expected", [
    ("telegram", "100003", ("telegram", "100003")),
    ("twilio", "whatsapp:+254712345678", ("whatsapp", "+254712345678")),
    ("slack", "U0OLIVER_C0GENERAL", ("slack", "U0OLIVER")),
    ("twilio", "+447700900123", None),  # SMS: a number proves nothing
    ("rest", "100003", None),
    ("socketio", "0123456789abcdef0123456789abcdef", None),
])
def test_only_platform_asserted_senders_are_identities(channel, sender, expected):
    assert trusted_identity(channel, sender) == expected


def test_rest_and_socketio_cannot_choose_a_platform_sender_id():
    assert all(is_platform_sender_id(s) for s in ("100003", "whatsapp:+254712345678", "+447700900123", "U0OLIVER"))
    assert not is_platform_sender_id("web-visitor-1")


# --- e-mail / phone verifications ------------------------------------------------------------------

def user(text: str, at: float, metadata: dict | None = None, channel: str = "rest") -> dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": at, "input_channel": channel, "metadata": metadata or {},
            "parse_data": {"intent": {"name": "order_status"}}}


def conversation(events: list[dict], record: dict | None, sender: str = "web-1") -> Tracker:
    return Tracker(sender, {"customer_id": record, "language": "en"}, {"intent": {"name": "order_status"}},
                   events, False, None, {}, "action_listen")


def identify(tracker: Tracker) -> int | None:
    return asyncio.run(ctx.identify(tracker))


def test_a_verification_holds_in_its_session_then_runs_out(monkeypatch):
    monkeypatch.setenv("VERIFICATION_TTL_SECONDS", "600")
    now = time.time()
    events = [user("where is 8170087700000006", now - 30), user("oliver@example.co.uk", now - 20),
              user("and again?", now - 5)]
    record = {"customer": 3, "at": now - 19, "channel": "rest", "sign_in": ""}
    assert identify(conversation(events, record)) == 3
    monkeypatch.setenv("VERIFICATION_TTL_SECONDS", "10")
    assert identify(conversation(events, record)) is None  # older than VERIFICATION_TTL_SECONDS


def test_a_verification_ends_with_its_session():
    now = time.time()
    record = {"customer": 3, "at": now - 100, "channel": "rest", "sign_in": ""}
    events = [user("oliver@example.co.uk", now - 101),
              {"event": "action", "name": "action_session_start", "timestamp": now - 10},
              {"event": "session_started", "timestamp": now - 10},
              {"event": "slot", "name": "customer_id", "value": record, "timestamp": now - 10},  # carried over
              user("where is 8170087700000006", now - 5)]
    assert identify(conversation(events, record)) is None


def test_a_verification_does_not_cross_channels_or_sign_ins():
    now = time.time()
    record = {"customer": 3, "at": now - 20, "channel": "rest", "sign_in": ""}
    verified = [user("oliver@example.co.uk", now - 21)]
    assert identify(conversation([*verified, user("again", now - 5)], record)) == 3
    # the same conversation id reached through socket.io
    assert identify(conversation([*verified, user("again", now - 5, channel="socketio")], record)) is None
    # a sign-in, then a sign-out: what was verified before is not reused
    signed_in = user("signed in", now - 10, {"auth_token": issue_token(1, 60, SETTINGS)})
    assert identify(conversation([*verified, signed_in, user("signed out", now - 5)], record)) is None
    # a verification from before expiry-based identities existed (a bare id) is not trusted either
    assert identify(conversation([*verified, user("again", now - 5)], 3)) is None


def test_an_invalid_token_is_anonymous_but_can_verify_by_email(monkeypatch):
    monkeypatch.setenv("AUTH_JWT_SECRET", SETTINGS.secret)
    now = time.time()
    expired = issue_token(3, 60, SETTINGS, now=now - 3600)
    record = {"customer": 3, "at": now - 20, "channel": "rest", "sign_in": sign_in_state({"auth_token": expired})}
    events = [user("oliver@example.co.uk", now - 21, {"auth_token": expired}),
              user("again", now - 5, {"auth_token": expired})]
    assert identify(conversation(events, None)) is None
    assert identify(conversation(events, record)) == 3  # verified under the same (expired) token
    valid = issue_token(1, 60, SETTINGS)
    assert identify(conversation([*events, user("signed in", now - 1, {"auth_token": valid})], record)) == 1


def test_a_reminder_is_judged_on_the_users_last_message(monkeypatch):
    monkeypatch.setenv("AUTH_JWT_SECRET", SETTINGS.secret)
    now = time.time()
    reminder = {"event": "user", "text": "EXTERNAL: EXTERNAL_cancellation_deadline", "timestamp": now,
                "metadata": {"is_external": True}, "input_channel": "rest",
                "parse_data": {"intent": {"name": "EXTERNAL_cancellation_deadline"}}}
    signed_in = user("cancel it", now - 60, {"auth_token": issue_token(3, 600, SETTINGS)})
    assert identify(conversation([signed_in, reminder], None)) == 3
    expired = user("cancel it", now - 60, {"auth_token": issue_token(3, 600, SETTINGS, now=now - 601)})
    assert identify(conversation([expired, reminder], None)) is None
    # a client cannot mark its own message as external: the open channels drop the key
    assert client_metadata({"is_external": True, "auth_token": "t"}) == {"auth_token": "t"}
    assert client_metadata("not an object") is None


# --- settings --------------------------------------------------------------------------------------

@pytest.fixture()
def clean_environ():
    """settings.load() writes every setting into os.environ: put it back as it was."""
    saved = dict(os.environ)
    os.environ.pop("WEBCHAT_DEMO_SIGN_IN", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_demo_sign_in_is_off_unless_the_demo_launcher_or_a_setting_turns_it_on(clean_environ, tmp_path):
    empty = tmp_path / "no.env"
    assert settings.load(env_file=empty)["WEBCHAT_DEMO_SIGN_IN"] == "false"
    os.environ.pop("WEBCHAT_DEMO_SIGN_IN")
    assert settings.load(env_file=empty, demo=True)["WEBCHAT_DEMO_SIGN_IN"] == "true"  # make run
    os.environ["WEBCHAT_DEMO_SIGN_IN"] = "false"
    assert settings.load(env_file=empty, demo=True)["WEBCHAT_DEMO_SIGN_IN"] == "false"  # a setting wins
    enabled, _ = effective_channels({})
    assert enabled["bot.channels.webchat.WebChatInput"]["demo_sign_in"] == "false"
    assert WebChatInput.from_credentials({}).demo_sign_in is False


# --- channels: sending -----------------------------------------------------------------------------

def test_retry_after_is_read_as_seconds_or_a_date():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:05 GMT", now=now) == 5.0


def test_retryable_answers_are_retried_then_given_up_with_the_conversation_id(caplog):
    policy = RetryPolicy(attempts=3, base_delay=0.01, max_wait=1)
    answers = [Retryable("HTTP 429", 0.01), Retryable("HTTP 503"), "sent"]

    async def send():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert asyncio.run(send_with_retries(send, platform="Test", conversation_id="conv-42", policy=policy)) == "sent"

    async def always_busy():
        raise Retryable("HTTP 503")

    with caplog.at_level(logging.ERROR), pytest.raises(NotDelivered):
        asyncio.run(send_with_retries(always_busy, platform="Test", conversation_id="conv-43", policy=policy))
    assert "conv-43" in caplog.text and "not delivered after 3 attempt(s)" in caplog.text


def test_a_retry_after_longer_than_allowed_gives_up_instead_of_retrying_early(caplog):
    calls = []

    async def send():
        calls.append(time.monotonic())
        raise Retryable("HTTP 429", retry_after=3600)

    with caplog.at_level(logging.ERROR), pytest.raises(NotDelivered):
        asyncio.run(send_with_retries(send, platform="Test", conversation_id="conv-44",
                                      policy=RetryPolicy(attempts=4, base_delay=0.01, max_wait=5)))
    assert len(calls) == 1 and "conv-44" in caplog.text


def test_telegram_start_language_and_twilio_status_address():
    assert [start_greeting(c) for c in ("fr", "fr-CA", "sw", "SW", "en-GB", "pt", None)] == [
        "bonjour", "bonjour", "habari", "habari", "hello", "hello", "hello"]
    assert status_callback_for("https://bot.example.com/webhooks/twilio/webhook") == \
        "https://bot.example.com/webhooks/twilio/status"
    assert status_callback_for("", "https://cb.example.com/s") == "https://cb.example.com/s"
    assert status_callback_for("") == ""


def test_the_slack_note_exists_in_three_languages():
    from rasa.shared.core.domain import Domain

    from bot.channels.slack import MOVED_RESPONSE
    from tests.conftest import ROOT

    variations = Domain.load(str(ROOT / "bot" / "domain")).responses[MOVED_RESPONSE]
    languages = {next((c["value"] for c in v.get("condition") or [] if c.get("name") == "language"), "en")
                 for v in variations}
    assert languages == {"en", "fr", "sw"}
