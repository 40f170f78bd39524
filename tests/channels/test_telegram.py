"""Telegram: real update JSON in, Bot API calls out (recorded by the local stub)."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
import yaml

from tests.channels.stub import text_of
from tests.conftest import ROOT

pytestmark = pytest.mark.needs_servers

_ids = itertools.count(int(time.time()) % 1_000_000 * 100)


def message_update(user_id: int, text: str, first_name: str = "Oliver", language_code: str = "en") -> dict:
    update_id = next(_ids)
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code},
            "chat": {"id": user_id, "first_name": first_name, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def button_update(user_id: int, data: str, first_name: str = "Oliver") -> dict:
    update_id = next(_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "message": {
                "message_id": update_id % 100000,
                "from": {"id": 123456789, "is_bot": True, "first_name": "Support", "username": "support_bot"},
                "chat": {"id": user_id, "first_name": first_name, "type": "private"},
                "date": int(time.time()),
                "text": "(the bot's question)",
            },
            "chat_instance": "-1234567890",
            "data": data,
        },
    }


def sent_to(chat_id: int):
    return lambda c: c.service == "telegram" and c.method == "sendMessage" and str(c.params.get("chat_id")) == str(chat_id)


def test_webhook_is_set_with_the_secret(channel_servers):
    calls = channel_servers.stub.wait_for(lambda c: c.service == "telegram" and c.method == "setWebhook", timeout=10)
    assert calls[0].params["url"] == "https://bot.example.com/webhooks/telegram/webhook"
    assert calls[0].params["secret_token"] == channel_servers.env["TELEGRAM_WEBHOOK_SECRET"]


def test_known_user_gets_order_status_without_being_asked_for_email(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.telegram(message_update(100003, "where is my order 8170087700000006"))
    assert status == 200
    replies = stub.settle(since)
    text = "\n".join(text_of(c) for c in replies if sent_to(100003)(c))
    assert re.search(r"8170087700000006.*shipped.*tracking number", text, re.S | re.I), text
    assert "e-mail" not in text.lower()


def test_buttons_are_an_inline_keyboard_and_a_press_answers_them(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.telegram(message_update(100001, "je veux annuler la commande 8170034500000003", "Amina"))
    assert status == 200
    asked = stub.wait_for(lambda c: sent_to(100001)(c) and c.params.get("reply_markup"), since=since)[0]
    keyboard = asked.json_param("reply_markup")["inline_keyboard"]
    titles = [row[0]["text"] for row in keyboard]
    assert "Je n'en ai plus besoin" in titles and len(keyboard) == 6  # six reasons, one per row
    payload = keyboard[0][0]["callback_data"]
    assert payload == '/inform{"cancel_reason": "no_longer_needed"}'

    since = len(stub.snapshot())
    assert channel_servers.telegram(button_update(100001, payload, "Amina"))[0] == 200
    confirm = stub.wait_for(lambda c: sent_to(100001)(c) and c.params.get("reply_markup"), since=since)[0]
    assert "8170034500000003" in text_of(confirm)
    yes_no = [b["text"] for row in confirm.json_param("reply_markup")["inline_keyboard"] for b in row]
    assert yes_no == ["Oui", "Non"]
    assert any(c.method == "answerCallbackQuery" for c in stub.snapshot()[since:])


def test_update_without_the_webhook_secret_is_refused(channel_servers):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.telegram(message_update(100003, "where is my order 8170087700000006"), secret=None)
    assert status == 403
    status, _ = channel_servers.telegram(message_update(100003, "where is my order 8170087700000006"), secret="guess")
    assert status == 403
    time.sleep(1)
    assert not [c for c in stub.snapshot()[since:] if c.method == "sendMessage"]


def response_text(name: str, language: str) -> str:
    """A one-variation response's text in ``language``, as the domain has it."""
    for path in sorted(Path(ROOT / "bot" / "domain" / "responses").glob("*.yml")):
        variations = (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).get(name)
        for variation in variations or []:
            conditions = variation.get("condition") or []
            lang = next((c["value"] for c in conditions if c.get("name") == "language"), "en")
            if lang == language:
                return " ".join(variation["text"].split())
    raise AssertionError(f"no {language} variation of {name}")


@pytest.mark.parametrize("user_id, language_code, language", [(200001, "fr", "fr"), (200002, "sw", "sw"),
                                                             (200003, "fr-CA", "fr"), (200004, "pt-BR", "en")])
def test_start_is_greeted_in_the_users_telegram_language(channel_servers, user_id, language_code, language):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    status, _ = channel_servers.telegram(message_update(user_id, "/start", "Test", language_code=language_code))
    assert status == 200
    greeting = stub.wait_for(sent_to(user_id), since=since)[0]
    assert " ".join(text_of(greeting).split()) == response_text("utter_greet", language)


@pytest.mark.parametrize("status", [429, 502])
def test_rate_limit_or_server_error_is_retried_and_the_answer_arrives(channel_servers, status):
    stub = channel_servers.stub
    since = len(stub.snapshot())
    stub.fail_next("telegram", "sendMessage", status=status, retry_after=1 if status == 429 else None)
    assert channel_servers.telegram(message_update(100003, "where is my order 8170087700000006"))[0] == 200
    stub.wait_for(sent_to(100003), since=since, count=2)
    sends = [c for c in stub.settle(since) if sent_to(100003)(c)]
    assert text_of(sends[0]) == text_of(sends[1])  # the refused message, sent again
    text = "\n".join(text_of(c) for c in sends[1:])
    assert re.search(r"8170087700000006.*shipped.*tracking number", text, re.S | re.I), text
    assert "tried again" in channel_servers.log()
