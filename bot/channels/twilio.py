"""Twilio: WhatsApp and SMS on one webhook, with signed requests and numbered options.

Differences from ``rasa.core.channels.twilio``:

* every request must carry a valid ``X-Twilio-Signature`` (HMAC-SHA1 of the webhook URL and the
  form, keyed with the auth token): WhatsApp senders are trusted to be who the identity table
  says, so a request that did not come from Twilio is refused (403). The URL signed is
  ``TWILIO_WEBHOOK_URL`` when set (behind a proxy), else the URL the request reached;
* replies go out with Twilio's REST API over aiohttp (Rasa's channel calls the blocking Twilio
  client inside the event loop), from ``whatsapp:<TWILIO_WHATSAPP_NUMBER>`` to WhatsApp senders
  and from ``TWILIO_NUMBER`` to SMS senders; ``TWILIO_API_URL`` is the API address (the tests
  point it at a local stub);
* neither SMS nor WhatsApp (through Twilio) shows buttons: they become numbered options, and a
  reply "2" (or an option's exact title) is the second button's payload.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.buttons import numbered_text, resolve_numbered_reply

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY_CHARS = 1600  # Twilio's limit for one message body


class TwilioOutput(OutputChannel):
    """Sends through Twilio's Messages API; buttons become numbered options."""

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, account_sid: str, auth_token: str, sms_number: str = "", whatsapp_number: str = "",
                 api_url: str = "https://api.twilio.com") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sms_number = sms_number
        self.whatsapp_number = whatsapp_number
        self.api_url = api_url.rstrip("/")

    def sender_for(self, recipient_id: str) -> str | None:
        if recipient_id.lower().startswith("whatsapp:"):
            number = self.whatsapp_number
            return None if not number else (number if number.startswith("whatsapp:") else f"whatsapp:{number}")
        return self.sms_number or None

    async def _send(self, recipient_id: str, body: str = "", media_url: str | None = None) -> None:
        sender = self.sender_for(recipient_id)
        if sender is None:
            logger.error("no Twilio number configured for this kind of recipient (SMS or WhatsApp)")
            return
        form = {"To": recipient_id, "From": sender}
        if body:
            form["Body"] = body[:MAX_BODY_CHARS]
        if media_url:
            form["MediaUrl"] = media_url
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                async with session.post(url, data=form, auth=aiohttp.BasicAuth(self.account_sid, self.auth_token)) as r:
                    if r.status >= 300:
                        logger.error("Twilio refused a message: HTTP %s", r.status)
        except aiohttp.ClientError as error:
            logger.error("Twilio could not be reached: %s", type(error).__name__)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._send(recipient_id, part)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self._send(recipient_id, numbered_text(text, buttons))

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self._send(recipient_id, numbered_text(text, quick_replies))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, media_url=image)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        text = json_message.get("text") or json_message.get("body")
        if text:
            await self._send(recipient_id, str(text))


class TwilioInput(InputChannel):
    """``/webhooks/twilio/webhook`` for WhatsApp and SMS (name: ``twilio``)."""

    @classmethod
    def name(cls) -> str:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TwilioInput:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            account_sid=str(credentials.get("account_sid") or ""),
            auth_token=str(credentials.get("auth_token") or ""),
            sms_number=str(credentials.get("twilio_number") or ""),
            whatsapp_number=str(credentials.get("whatsapp_number") or ""),
            webhook_url=str(credentials.get("webhook_url") or ""),
            api_url=str(credentials.get("api_url") or "https://api.twilio.com"),
        )

    def __init__(self, account_sid: str, auth_token: str, sms_number: str = "", whatsapp_number: str = "",
                 webhook_url: str = "", api_url: str = "https://api.twilio.com") -> None:
        if not account_sid or not auth_token or not (sms_number or whatsapp_number):
            raise ValueError("the Twilio channel needs an account SID, an auth token and a number")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sms_number = sms_number
        self.whatsapp_number = whatsapp_number
        self.webhook_url = webhook_url
        self.api_url = api_url
        self.validator = RequestValidator(auth_token)

    def get_output_channel(self) -> TwilioOutput:
        return TwilioOutput(self.account_sid, self.auth_token, self.sms_number, self.whatsapp_number, self.api_url)

    @staticmethod
    def form(request: Request) -> dict[str, Any]:
        """The posted form with its empty fields: Twilio signs them too (Sanic's request.form drops them)."""
        try:
            parsed = urllib.parse.parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}

    def authentic(self, request: Request, form: dict[str, Any]) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        url = self.webhook_url or request.url
        return bool(self.validator.validate(url, form, signature))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        twilio = Blueprint("twilio_webhook", __name__)

        @twilio.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            form = self.form(request)
            if not self.authentic(request, form):
                logger.warning("refused a Twilio request without a valid signature")
                return response.text("forbidden", status=403)
            sender = form.get("From") if isinstance(form.get("From"), str) else None
            text = form.get("Body") if isinstance(form.get("Body"), str) else None
            if form.get("Latitude") and form.get("Longitude"):
                text = text or "location"
            if not sender or not text:
                return response.text("", status=204)  # media without text, status callbacks...
            text = text.replace("¡", "@")  # '@' arrives as '¡' through some SMS carriers
            text = await resolve_numbered_reply(request.app, sender, text)
            await on_new_message(
                UserMessage(text, self.get_output_channel(), sender, input_channel=self.name(),
                            metadata=self.get_metadata(request))
            )
            return response.text("", status=204)

        return twilio
