"""Telegram: Rasa's channel with an authenticated webhook and a configurable Bot API address.

Differences from ``rasa.core.channels.telegram``:

* every update must carry the webhook's secret token (``X-Telegram-Bot-Api-Secret-Token``, set
  with ``setWebhook``): Telegram users are trusted to be who the identity table says, so an
  update that did not come from Telegram is refused (403). Rasa's channel checks only the bot's
  own name, with a ``getMe`` call per message;
* nothing is called at start-up unless ``TELEGRAM_WEBHOOK_URL`` is set, and then ``setWebhook``
  (with the secret) runs once the server is up, without failing the start;
* ``TELEGRAM_API_URL`` is the Bot API address (the tests point it at a local stub);
* more than two buttons are laid out one per row; a reply with an option's number works too;
  a button press is acknowledged (``answerCallbackQuery``);
* ``/start`` (the first message of every Telegram chat) becomes the greeting word of the user's
  language, from Telegram's ``language_code`` (fr -> "bonjour", sw -> "habari", else "hello"),
  so the bot greets them in their language before they typed anything;
* a Bot API answer 429 (``retry_after``) or 5xx is retried (``bot/channels/retry.py``); a message
  that still fails is logged with the conversation id instead of failing the turn.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.bot import api
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramOutput as RasaTelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.buttons import resolve_numbered_reply
from bot.channels.retry import RETRY_STATUSES, NotDelivered, Retryable, retry_after_seconds, send_with_retries

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit for a button's callback_data
# What /start becomes: the word a user of that language greets with (the web chat's first
# message does the same, bot/web/static/widget.js).
GREETINGS = {"en": "hello", "fr": "bonjour", "sw": "habari"}


def start_greeting(language_code: str | None) -> str:
    """The greeting for Telegram's ``language_code`` ("fr", "fr-CA", "sw", ...); English otherwise."""
    return GREETINGS.get(str(language_code or "").split("-")[0].strip().lower(), GREETINGS["en"])


def telegram_retry_after(headers: Any, body: str) -> float | None:
    """Telegram's ``parameters.retry_after`` (or a Retry-After header) of a 429."""
    after = retry_after_seconds(headers.get("Retry-After")) if headers is not None else None
    if after is not None:
        return after
    try:
        return retry_after_seconds((json.loads(body).get("parameters") or {}).get("retry_after"))
    except (ValueError, AttributeError):
        return None


class TelegramOutput(RasaTelegramOutput):
    """Rasa's Telegram output (aiogram) on a configurable Bot API server."""

    def __init__(self, access_token: str, api_url: str = "https://api.telegram.org") -> None:
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_url))
        self._access_token = access_token

    async def request(self, method: str, data: dict | None = None, files: dict | None = None, **kwargs: Any) -> Any:
        """aiogram's request (same result, same exceptions) with 429 / 5xx retried."""
        url = self.server.api_url(token=self._access_token, method=method)

        async def attempt() -> Any:
            try:
                async with self.session.post(url, data=api.compose_data(data, files), proxy=self.proxy,
                                             proxy_auth=self.proxy_auth, timeout=self.timeout, **kwargs) as answer:
                    body = await answer.text()
                    if answer.status in RETRY_STATUSES:
                        raise Retryable(f"HTTP {answer.status}", telegram_retry_after(answer.headers, body))
                    return api.check_result(method, answer.content_type, answer.status, body)
            except aiohttp.ClientConnectorError as error:  # nothing was sent: safe to try again
                raise Retryable(type(error).__name__) from error

        conversation = (data or {}).get("chat_id", "-")
        return await send_with_retries(attempt, platform="Telegram", conversation_id=conversation, what=method)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        try:
            await super().send_response(recipient_id, message)
        except NotDelivered:
            pass  # logged with the conversation id
        except Exception as error:  # noqa: BLE001 - a refused message must not fail the turn
            logger.error("Telegram: message to conversation %s not delivered: %s", recipient_id,
                         type(error).__name__)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], button_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        # callback_data is limited to 64 bytes: a longer payload is sent as the option's number,
        # which the input channel maps back through the tracker.
        prepared = [
            {**b, "payload": b.get("payload") if len(str(b.get("payload", "")).encode()) <= MAX_CALLBACK_DATA
             else str(i)}
            for i, b in enumerate(buttons, start=1)
        ]
        layout = button_type or ("inline" if len(prepared) <= 2 else "vertical")
        await super().send_text_with_buttons(recipient_id, text, prepared, button_type=layout, **kwargs)


class TelegramInput(InputChannel):
    """``/webhooks/telegram/webhook`` (name: ``telegram``)."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            access_token=str(credentials.get("access_token") or ""),
            webhook_secret=str(credentials.get("webhook_secret") or ""),
            webhook_url=str(credentials.get("webhook_url") or ""),
            api_url=str(credentials.get("api_url") or "https://api.telegram.org"),
        )

    def __init__(self, access_token: str, webhook_secret: str, webhook_url: str = "",
                 api_url: str = "https://api.telegram.org") -> None:
        if not access_token or not webhook_secret:
            raise ValueError("the Telegram channel needs an access token and a webhook secret")
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.api_url = api_url
        self._output: TelegramOutput | None = None

    def get_output_channel(self) -> TelegramOutput:
        # One aiogram Bot per server; its HTTP session is opened on first use, inside the
        # server's event loop.
        if self._output is None:
            self._output = TelegramOutput(self.access_token, self.api_url)
        return self._output

    def authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.webhook_secret.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram = Blueprint("telegram_webhook", __name__)

        @telegram.listener("after_server_start")
        async def set_webhook(app: Any, loop: Any) -> None:
            if not self.webhook_url:
                return
            try:
                await self.get_output_channel().request(
                    "setWebhook",
                    {"url": self.webhook_url, "secret_token": self.webhook_secret,
                     "allowed_updates": '["message","edited_message","callback_query"]'},
                )
                logger.info("Telegram webhook set")
            except Exception as error:  # noqa: BLE001 - the bot keeps serving the other channels
                logger.warning("Telegram webhook could not be set: %s", type(error).__name__)

        @telegram.listener("before_server_stop")
        async def close_session(app: Any, loop: Any) -> None:
            session = getattr(self._output, "_session", None)
            if session is not None and not session.closed:
                await session.close()  # not Bot.close(): in aiogram 3 that is the API's "close"

        @telegram.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            if not self.authentic(request):
                logger.warning("refused a Telegram update without the webhook secret")
                return response.text("forbidden", status=403)
            try:
                update = Update(**(request.json or {}))
            except Exception:  # noqa: BLE001
                return response.text("bad update", status=400)
            out_channel = self.get_output_channel()
            if update.callback_query is not None:
                msg = update.callback_query.message
                text = update.callback_query.data
                try:
                    await out_channel.answer_callback_query(update.callback_query.id)
                except Exception as error:  # noqa: BLE001
                    logger.info("answerCallbackQuery failed: %s", type(error).__name__)
            elif update.edited_message is not None:
                msg, text = update.edited_message, update.edited_message.text
            elif update.message is not None and update.message.text is not None:
                msg, text = update.message, update.message.text.replace("/bot", "")
                if text.split("@", 1)[0].split(" ", 1)[0].strip() == "/start":
                    user = update.message.from_user
                    text = start_greeting(user.language_code if user else None)
            else:
                return response.text("success")  # stickers, photos, joins...
            if msg is None or msg.chat is None or not text:
                return response.text("success")
            if msg.chat.type not in (None, "private"):
                # In a group the chat id is the group's: it identifies nobody.
                return response.text("success")
            sender_id = str(msg.chat.id)
            text = await resolve_numbered_reply(request.app, sender_id, text)
            await on_new_message(
                UserMessage(text, out_channel, sender_id, input_channel=self.name(),
                            metadata=self.get_metadata(request))
            )
            return response.text("success")

        return telegram
