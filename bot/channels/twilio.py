"""Twilio: WhatsApp and SMS on one webhook, with signed requests and numbered options.

Differences from ``rasa.core.channels.twilio``:

* every request must carry a valid ``X-Twilio-Signature`` (HMAC-SHA1 of the webhook URL and the
  form, keyed with the auth token): WhatsApp senders are trusted to be who the identity table
  says, so a request that did not come from Twilio is refused (403). The URL signed is
  ``TWILIO_WEBHOOK_URL`` when set (behind a proxy), else the URL the request reached. An SMS
  number is never trusted (``actions/identity.py``);
* replies go out with Twilio's REST API over aiohttp (Rasa's channel calls the blocking Twilio
  client inside the event loop), from ``whatsapp:<TWILIO_WHATSAPP_NUMBER>`` to WhatsApp senders
  and from ``TWILIO_NUMBER`` to SMS senders; ``TWILIO_API_URL`` is the API address (the tests
  point it at a local stub). A 429 or 5xx is retried (``bot/channels/retry.py``);
* neither SMS nor WhatsApp (through Twilio) shows buttons: they become numbered options, and a
  reply "2" (or an option's exact title) is the second button's payload;
* WhatsApp's 24-hour window: a message the actions mark with ``whatsapp_template`` (the 72 h
  follow-up, sent when the buyer has not written for more than 24 h) goes out as that approved
  Content template in the buyer's language (looked up by name in the Content API,
  ``TWILIO_CONTENT_API_URL``), with the order number and the message as variables {{1}}, {{2}};
* status callbacks: each message asks Twilio to report its fate to ``/webhooks/twilio/status``
  (``TWILIO_STATUS_CALLBACK_URL``, else derived from ``TWILIO_WEBHOOK_URL``). A signed report of
  a final status is recorded in the conversation (slot ``message_status``: sid, status, error
  code, time); a failed or undelivered message is also logged with the conversation id.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.buttons import numbered_text, resolve_numbered_reply
from bot.channels.retry import RETRY_STATUSES, NotDelivered, Retryable, retry_after_seconds, send_with_retries

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY_CHARS = 1600  # Twilio's limit for one message body
STATUS_SLOT = "message_status"
# Statuses worth keeping in the conversation: what finally became of a message.
FINAL_STATUSES = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})
FAILED_STATUSES = frozenset({"undelivered", "failed"})
MAX_TEMPLATE_PAGES = 20


def is_whatsapp(recipient_id: str) -> bool:
    return str(recipient_id).lower().startswith("whatsapp:")


def status_callback_for(webhook_url: str, status_callback_url: str = "") -> str:
    """The status callback URL: the setting, else the webhook URL's sibling ``/status``."""
    if status_callback_url:
        return status_callback_url
    if webhook_url.rstrip("/").endswith("/webhook"):
        return webhook_url.rstrip("/")[: -len("/webhook")] + "/status"
    return ""


def one_line(text: str) -> str:
    """A template variable may hold no line breaks (WhatsApp refuses them)."""
    return " ".join(str(text or "").split())


class TwilioOutput(OutputChannel):
    """Sends through Twilio's Messages API; buttons become numbered options."""

    # (template name, language) -> ContentSid, for the process's lifetime (approvals do not go away).
    _content_sids: ClassVar[dict[tuple[str, str], str]] = {}

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, account_sid: str, auth_token: str, sms_number: str = "", whatsapp_number: str = "",
                 api_url: str = "https://api.twilio.com", status_callback_url: str = "",
                 content_api_url: str = "https://content.twilio.com") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sms_number = sms_number
        self.whatsapp_number = whatsapp_number
        self.api_url = api_url.rstrip("/")
        self.status_callback_url = status_callback_url
        self.content_api_url = content_api_url.rstrip("/")

    def sender_for(self, recipient_id: str) -> str | None:
        if is_whatsapp(recipient_id):
            number = self.whatsapp_number
            return None if not number else (number if number.startswith("whatsapp:") else f"whatsapp:{number}")
        return self.sms_number or None

    async def _call(self, method: str, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        """One API call; 429/5xx and connection failures raise Retryable, other failures NotDelivered."""
        auth = aiohttp.BasicAuth(self.account_sid, self.auth_token)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                async with session.request(method, url, data=form, auth=auth) as answer:
                    if answer.status in RETRY_STATUSES:
                        raise Retryable(f"HTTP {answer.status}", retry_after_seconds(answer.headers.get("Retry-After")))
                    body = await answer.json(content_type=None)
                    if answer.status >= 300:
                        code = body.get("code") if isinstance(body, dict) else None
                        raise NotDelivered(f"HTTP {answer.status}" + (f", Twilio error {code}" if code else ""))
                    return body if isinstance(body, dict) else {}
        except aiohttp.ClientConnectorError as error:  # nothing was sent: safe to try again
            raise Retryable(type(error).__name__) from error
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise NotDelivered(f"{type(error).__name__} (it may or may not have been sent)") from error

    async def _send(self, recipient_id: str, body: str = "", media_url: str | None = None,
                    extra: dict[str, str] | None = None) -> None:
        sender = self.sender_for(recipient_id)
        if sender is None:
            logger.error("no Twilio number configured for conversation %s (SMS or WhatsApp)", recipient_id)
            return
        form = {"To": recipient_id, "From": sender, **(extra or {})}
        if body:
            form["Body"] = body[:MAX_BODY_CHARS]
        if media_url:
            form["MediaUrl"] = media_url
        if self.status_callback_url:
            form["StatusCallback"] = self.status_callback_url
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            await send_with_retries(lambda: self._call("POST", url, form), platform="Twilio",
                                    conversation_id=recipient_id)
        except NotDelivered:
            pass  # logged with the conversation id; the turn goes on

    async def content_sid(self, name: str, language: str, conversation_id: str) -> str | None:
        """The ContentSid of the template ``name`` approved for WhatsApp in ``language``, or None."""
        key = (name, language)
        if key in self._content_sids:
            return self._content_sids[key]
        url: str | None = f"{self.content_api_url}/v1/ContentAndApprovals?PageSize=100"
        for _ in range(MAX_TEMPLATE_PAGES):
            if not url:
                break
            page_url = url
            try:
                page = await send_with_retries(lambda u=page_url: self._call("GET", u), platform="Twilio Content API",
                                               conversation_id=conversation_id, what="template lookup")
            except NotDelivered:
                logger.error("WhatsApp template %r could not be looked up: message to conversation %s not sent",
                             name, conversation_id)
                return None
            for content in page.get("contents") or []:
                approval = content.get("approval_requests") or {}
                if (content.get("friendly_name") == name and content.get("language") == language
                        and approval.get("status") == "approved" and content.get("sid")):
                    self._content_sids[key] = content["sid"]
                    return content["sid"]
            url = (page.get("meta") or {}).get("next_page_url")
        logger.error("WhatsApp template %r is not approved in %r: message to conversation %s not sent",
                     name, language, conversation_id)
        return None

    async def send_template(self, recipient_id: str, name: str, language: str, variables: dict[str, str]) -> None:
        sid = await self.content_sid(name, language, recipient_id)
        if sid is not None:
            await self._send(recipient_id, extra={"ContentSid": sid, "ContentVariables": json.dumps(variables)})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        template = kwargs.get("whatsapp_template")
        if template and is_whatsapp(recipient_id):
            variables = {"1": str(kwargs.get("order_id") or "-"), "2": one_line(text)}
            return await self.send_template(recipient_id, str(template), str(kwargs.get("template_language") or "en"),
                                            variables)
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


async def record_in_conversation(app: Any, conversation_id: str, slot: str, value: Any) -> bool:
    """Adds ``SlotSet(slot, value)`` to a conversation, under its lock (as Rasa's HTTP API does)."""
    from rasa.shared.core.events import SlotSet

    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if agent is None or store is None:
        return False
    async with agent.lock_store.lock(conversation_id):
        tracker = await store.retrieve(conversation_id)
        if tracker is None:
            return False
        tracker.update(SlotSet(slot, value))
        await store.save(tracker)
    return True


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
            status_callback_url=str(credentials.get("status_callback_url") or ""),
            content_api_url=str(credentials.get("content_api_url") or "https://content.twilio.com"),
        )

    def __init__(self, account_sid: str, auth_token: str, sms_number: str = "", whatsapp_number: str = "",
                 webhook_url: str = "", api_url: str = "https://api.twilio.com", status_callback_url: str = "",
                 content_api_url: str = "https://content.twilio.com") -> None:
        if not account_sid or not auth_token or not (sms_number or whatsapp_number):
            raise ValueError("the Twilio channel needs an account SID, an auth token and a number")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sms_number = sms_number
        self.whatsapp_number = whatsapp_number
        self.webhook_url = webhook_url
        self.api_url = api_url
        self.status_callback_url = status_callback_for(webhook_url, status_callback_url)
        self.content_api_url = content_api_url
        self.validator = RequestValidator(auth_token)

    def get_output_channel(self) -> TwilioOutput:
        return TwilioOutput(self.account_sid, self.auth_token, self.sms_number, self.whatsapp_number, self.api_url,
                            self.status_callback_url, self.content_api_url)

    @staticmethod
    def form(request: Request) -> dict[str, Any]:
        """The posted form with its empty fields: Twilio signs them too (Sanic's request.form drops them)."""
        try:
            parsed = urllib.parse.parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}

    def authentic(self, request: Request, form: dict[str, Any], signed_url: str = "") -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        return bool(self.validator.validate(signed_url or request.url, form, signature))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        twilio = Blueprint("twilio_webhook", __name__)

        @twilio.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            form = self.form(request)
            if not self.authentic(request, form, self.webhook_url):
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

        @twilio.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            form = self.form(request)
            if not self.authentic(request, form, self.status_callback_url):
                logger.warning("refused a Twilio status callback without a valid signature")
                return response.text("forbidden", status=403)
            state = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
            conversation = str(form.get("To") or "")
            if state not in FINAL_STATUSES or not conversation:
                return response.text("", status=204)
            record = {"sid": str(form.get("MessageSid") or ""), "status": state,
                      "error_code": str(form.get("ErrorCode") or "") or None, "at": time.time()}
            if state in FAILED_STATUSES:
                logger.warning("Twilio could not deliver message %s to conversation %s: %s (error %s)",
                               record["sid"], conversation, state, record["error_code"] or "-")
            else:
                logger.info("Twilio message %s to conversation %s: %s", record["sid"], conversation, state)
            if not await record_in_conversation(request.app, conversation, STATUS_SLOT, record):
                logger.warning("status of Twilio message %s: no conversation %s to record it in",
                               record["sid"], conversation)
            return response.text("", status=204)

        return twilio
