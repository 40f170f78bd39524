"""Channel settings, identities and numbered options: no servers needed."""

from __future__ import annotations

import os
import re
import stat

import pytest
import yaml

from actions.identity import channel_identity, is_platform_sender_id
from bot.channels import config
from bot.channels.buttons import buttons_since_last_user_message, numbered_text, resolve_reply
from tests.conftest import ROOT

FULL = {
    "CORS_ORIGINS": "https://shop.example.com",
    "TELEGRAM_ACCESS_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "0123",
    "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "yes", "TWILIO_WHATSAPP_NUMBER": "+14155238886",
    "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t",
}


def test_without_settings_only_the_web_channels_are_on():
    enabled, disabled = config.effective_channels({})
    assert [config.short_name(c) for c in enabled] == ["rest", "socketio", "webchat", "triage", "agentconsole"]
    assert disabled == {
        "bot.channels.telegram.TelegramInput": ["TELEGRAM_ACCESS_TOKEN", "TELEGRAM_WEBHOOK_SECRET"],
        "bot.channels.twilio.TwilioInput": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                                            "TWILIO_NUMBER or TWILIO_WHATSAPP_NUMBER"],
        "bot.channels.slack.SlackInput": ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
    }


def test_written_file_has_plain_values_and_is_private(tmp_path):
    lines: list[str] = []
    path = config.write_credentials(tmp_path / "credentials.yml", FULL, log=lines.append)
    written = yaml.safe_load(path.read_text())
    assert list(written) == list(yaml.safe_load((ROOT / "bot" / "credentials.yml").read_text()))
    telegram = written["bot.channels.telegram.TelegramInput"]
    assert telegram["webhook_secret"] == "0123"  # a string, not the number 123
    assert telegram["api_url"] == "https://api.telegram.org"  # the template's default
    assert written["bot.channels.twilio.TwilioInput"]["auth_token"] == "yes"  # not YAML's True
    assert written["bot.channels.socketio.SocketIOInput"]["allowed_origins"] == "https://shop.example.com"
    assert "${" not in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert lines[0] == "channels on: rest, socketio, webchat, telegram, twilio, slack, triage, agentconsole"
    assert not any(secret in "\n".join(lines) for secret in ("123:abc", "s3cr3t", "xoxb-1"))


def test_a_missing_setting_turns_a_channel_off_with_a_log_line(tmp_path):
    lines: list[str] = []
    settings = {k: v for k, v in FULL.items() if k != "SLACK_SIGNING_SECRET"}
    path = config.write_credentials(tmp_path / "credentials.yml", settings, log=lines.append)
    assert "bot.channels.slack.SlackInput" not in yaml.safe_load(path.read_text())
    assert "channel slack off: set SLACK_SIGNING_SECRET to turn it on" in lines


def test_a_value_rasa_would_expand_is_refused(tmp_path):
    with pytest.raises(config.ChannelSettingsError):
        config.write_credentials(tmp_path / "c.yml", {**FULL, "SLACK_BOT_TOKEN": "${HOME}"}, log=lambda _: None)


def test_the_template_holds_no_secret():
    template = yaml.safe_load((ROOT / "bot" / "credentials.yml").read_text())
    secret_keys = re.compile(r"(access|auth|slack)_token$|secret|sid$|password", re.I)
    for channel, settings in template.items():
        for key, value in (settings or {}).items():
            if secret_keys.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+\}", str(value)), (channel, key, value)


@pytest.mark.parametrize(
    "channel, sender, expected",
    [
        ("telegram", "100003", ("telegram", "100003")),
        ("twilio", "whatsapp:+254712345678", ("whatsapp", "+254712345678")),
        ("twilio", "+447700900123", ("sms", "+447700900123")),
        ("slack", "U0AMINA", ("slack", "U0AMINA")),
        ("slack", "U0AMINA_C0CHANNEL_1700000000.1", ("slack", "U0AMINA")),
    ],
)
def test_channel_identity(channel, sender, expected):
    assert channel_identity(channel, sender) == expected


def test_twilio_senders_map_to_the_demo_identities(tmp_path):
    from actions.orders import demo
    from actions.orders.db import make_engine, session_factory
    from actions.orders.schema import migrate
    from actions.orders.service import OrderService

    url = f"sqlite:///{tmp_path}/orders.db"
    migrate(url)
    sessions = session_factory(make_engine(url))
    demo.seed(sessions)
    service = OrderService(sessions)

    def customer(channel: str, sender: str):
        identity_channel, external_id = channel_identity(channel, sender)
        return service.customer_for_identity(channel=identity_channel, external_id=external_id)

    wanjiku = customer("telegram", "100002")
    assert wanjiku is not None
    assert customer("twilio", "whatsapp:+254712345678") == wanjiku
    assert customer("slack", "U0WANJIKU") == wanjiku
    assert customer("twilio", "+254712345678") is None  # SMS: no identity linked in the demo


@pytest.mark.parametrize("sender", ["100003", "-1001234", "whatsapp:+254712345678", "+447700900123", "U0OLIVER",
                                    "U0OLIVER_C1"])
def test_messaging_sender_ids_are_reserved(sender):
    assert is_platform_sender_id(sender)


@pytest.mark.parametrize("sender", ["london-demo", "web-visitor-1", "a3f9c2", "me", "tester"])
def test_ordinary_sender_ids_are_free(sender):
    assert not is_platform_sender_id(sender)


BUTTONS = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def test_numbered_options():
    assert numbered_text("Shall I cancel order 1?", BUTTONS) == "Shall I cancel order 1?\n1. Yes\n2. No"
    assert resolve_reply("2", BUTTONS) == "/deny"
    assert resolve_reply(" 1. ", BUTTONS) == "/affirm"
    assert resolve_reply("yes", BUTTONS) == "/affirm"
    assert resolve_reply("3", BUTTONS) is None
    assert resolve_reply("8170087700000003", BUTTONS) is None
    assert resolve_reply("2", []) is None


def test_pending_buttons_are_those_since_the_last_user_message():
    events = [
        {"event": "user", "text": "cancel"},
        {"event": "bot", "text": "why?", "data": {"buttons": [{"title": "A", "payload": "/a"}]}},
        {"event": "user", "text": "1"},
        {"event": "bot", "text": "sure?", "data": {"buttons": BUTTONS}},
        {"event": "action", "name": "action_listen"},
    ]
    assert buttons_since_last_user_message(events) == BUTTONS
    assert buttons_since_last_user_message(events + [{"event": "user", "text": "2"}]) == []
