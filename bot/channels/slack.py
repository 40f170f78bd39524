"""Slack: Rasa's channel (signed requests: ``SLACK_SIGNING_SECRET``) on a configurable API address.

Differences from ``rasa.core.channels.slack``:

* **answers are private**: a message in a channel other than the user's direct message with the
  bot (a mention in a shared channel, a message in ``SLACK_CHANNEL``) is answered in a direct
  message (``conversations.open``), never in the channel, where anyone could read order details;
  the channel gets only an ephemeral note, visible to that user alone, saying where the answer is
  (``utter_answered_in_direct_message``, in the conversation's language). If the direct message
  cannot be opened, the answer itself is ephemeral;
* ``SLACK_API_URL`` is the Web API address (the tests point it at a local stub);
* up to 25 buttons are sent as Block Kit buttons (Slack's limit per ``actions`` block; Rasa's
  channel drops every button above 5, which would lose the six cancellation reasons); beyond
  that they become numbered options, and a reply with an option's number works too;
* a Web API answer 429 (``Retry-After``) or 5xx is retried (``bot/channels/retry.py``); a message
  that still fails is logged with the conversation id instead of failing the turn.

Rasa's channel already refuses requests whose ``X-Slack-Signature`` does not match (400) and
replays older than five minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import response
from sanic.request import Request
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.buttons import numbered_text, resolve_numbered_reply
from bot.channels.retry import RETRY_STATUSES, NotDelivered, Retryable, retry_after_seconds, send_with_retries

logger = logging.getLogger(__name__)

MAX_BUTTONS = 25
MOVED_RESPONSE = "utter_answered_in_direct_message"


def _header(headers: Any, name: str) -> Any:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None


async def slack_call(call: Callable[[], Awaitable[Any]], conversation_id: Any, what: str = "message") -> Any:
    """One Web API call with 429 / 5xx retried; NotDelivered (logged) when it fails for good."""

    async def attempt() -> Any:
        try:
            return await call()
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 0)
            if status in RETRY_STATUSES:
                raise Retryable(f"HTTP {status}", retry_after_seconds(_header(error.response.headers, "Retry-After"))) from error
            raise NotDelivered(f"HTTP {status}: {error.response.get('error')}") from error

    return await send_with_retries(attempt, platform="Slack", conversation_id=conversation_id, what=what)


class SlackOutput(SlackBot):
    """Rasa's Slack output with a configurable API address, Block Kit's button limit, retries and,
    for an answer that cannot go to a direct message, ephemeral messages to one user."""

    def __init__(self, token: str, slack_channel: str | None = None, thread_id: str | None = None,
                 proxy: str | None = None, api_url: str = "https://slack.com/api/",
                 conversation_id: str | None = None, ephemeral_user: str | None = None) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=api_url.rstrip("/") + "/")
        self.conversation_id = conversation_id
        self.ephemeral_user = ephemeral_user

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        if self.thread_id:
            kwargs["thread_ts"] = self.thread_id
        if self.ephemeral_user:
            kwargs.pop("as_user", None)
            await slack_call(lambda: self.client.chat_postEphemeral(channel=channel, user=self.ephemeral_user, **kwargs),
                             self.conversation_id or channel)
        else:
            await slack_call(lambda: self.client.chat_postMessage(channel=channel, **kwargs),
                             self.conversation_id or channel)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        try:
            await super().send_response(recipient_id, message)
        except NotDelivered:
            pass  # logged with the conversation id
        except Exception as error:  # noqa: BLE001 - a refused message must not fail the turn
            logger.error("Slack: message to conversation %s not delivered: %s",
                         self.conversation_id or recipient_id, type(error).__name__)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        if len(buttons) > MAX_BUTTONS:
            return await self.send_text_message(recipient, numbered_text(text, buttons))
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": str(b["title"])[:75]},
                     "value": str(b["payload"])[:2000], "action_id": f"button_{i}"}
                    for i, b in enumerate(buttons, start=1)
                ],
            },
        ]
        await self._post_message(channel=recipient, as_user=True, text=text, blocks=blocks)


class SlackInput(RasaSlackInput):
    """``/webhooks/slack/webhook`` (name: ``slack``)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        channel = super().from_credentials(credentials)
        channel.api_url = str((credentials or {}).get("api_url") or "https://slack.com/api/")
        return channel

    api_url = "https://slack.com/api/"

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> SlackOutput:
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_url)

    def get_metadata(self, request: Request) -> dict[str, Any]:
        """Rasa's metadata plus who wrote and whether it was in a direct message with the bot."""
        metadata = super().get_metadata(request)
        user, channel_type = None, None
        try:
            if request.headers.get("content-type") == "application/json":
                event = (request.json or {}).get("event") or {}
                user, channel_type = event.get("user"), event.get("channel_type")
            else:
                payload = json.loads(request.form["payload"][0])
                user = (payload.get("user") or {}).get("id")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            pass
        return {**metadata, "user": user, "channel_type": channel_type}

    @staticmethod
    def is_direct_message(metadata: dict[str, Any]) -> bool:
        # Events say "im"; a button press only gives the channel id, and direct message ids start with D.
        channel = str(metadata.get("out_channel") or "")
        return metadata.get("channel_type") == "im" or channel.startswith("D")

    async def direct_message_channel(self, user: str, conversation_id: str) -> str | None:
        client = AsyncWebClient(self.slack_token, proxy=self.proxy, base_url=self.api_url.rstrip("/") + "/")
        try:
            opened = await slack_call(lambda: client.conversations_open(users=user), conversation_id,
                                      what="direct message opening")
        except NotDelivered:
            return None
        return ((opened.get("channel") if opened is not None else None) or {}).get("id")

    async def process_message(self, request: Request, on_new_message: Any, text: str,
                              sender_id: str | None, metadata: dict | None) -> Any:
        """As Rasa's (Slack's own retries of a slow request are not answered twice; the turn runs in
        the background, Slack wants an answer within 3 s), with the answer's place chosen here."""
        retry_count = request.headers.get(self.retry_num_header)
        if retry_count and request.headers.get(self.retry_reason_header) in self.errors_ignore_retry:
            return response.text("", status=HTTPStatus.CREATED, headers={"X-Slack-No-Retry": "1"})
        if sender_id:
            text = await resolve_numbered_reply(request.app, sender_id, text)
        metadata = metadata or {}
        channel, user = metadata.get("out_channel"), metadata.get("user")
        moved_from = None
        if self.is_direct_message(metadata) or not channel or not user:
            out = SlackOutput(self.slack_token, channel or self.slack_channel,
                              metadata.get("thread_id") if self.use_threads else None, self.proxy, self.api_url,
                              conversation_id=sender_id)
        else:  # written in a channel others read: the answer goes to a direct message
            direct = await self.direct_message_channel(user, sender_id or user)
            out = SlackOutput(self.slack_token, direct or channel, None, self.proxy, self.api_url,
                              conversation_id=sender_id, ephemeral_user=None if direct else user)
            metadata = {**metadata, "out_channel": direct or channel, "shared_channel": channel}
            moved_from = channel if direct else None
        message = UserMessage(text, out, sender_id, input_channel=self.name(), metadata=metadata)
        task = asyncio.create_task(self.handle(request.app, on_new_message, message, moved_from, user))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)
        return response.text("")

    async def handle(self, app: Any, on_new_message: Any, message: UserMessage, moved_from: str | None,
                     user: str | None) -> None:
        try:
            await on_new_message(message)
            if moved_from and user:
                await self.note_in_channel(app, message.sender_id, moved_from, user)
        except Exception:  # noqa: BLE001 - as Rasa's own background task: log, never crash the server
            logger.exception("Slack message of conversation %s could not be handled", message.sender_id)

    async def note_in_channel(self, app: Any, conversation_id: str, shared: str, user: str) -> None:
        """An ephemeral note in the shared channel: the answer is in the direct message."""
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None or agent.nlg is None:
            return
        tracker = await agent.tracker_store.retrieve(conversation_id)
        note = await agent.nlg.generate(MOVED_RESPONSE, tracker, self.name()) if tracker is not None else None
        if not note or not note.get("text"):
            return
        out = SlackOutput(self.slack_token, shared, None, self.proxy, self.api_url,
                          conversation_id=conversation_id, ephemeral_user=user)
        await out.send_response(shared, {"text": note["text"]})


__all__ = ["SlackInput", "SlackOutput", "UserMessage"]
