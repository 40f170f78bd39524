"""Slack: Rasa's channel (signed requests: ``SLACK_SIGNING_SECRET``) on a configurable API address.

Differences from ``rasa.core.channels.slack``:

* ``SLACK_API_URL`` is the Web API address (the tests point it at a local stub);
* up to 25 buttons are sent as Block Kit buttons (Slack's limit per ``actions`` block; Rasa's
  channel drops every button above 5, which would lose the six cancellation reasons); beyond
  that they become numbered options, and a reply with an option's number works too.

Rasa's channel already refuses requests whose ``X-Slack-Signature`` does not match (400) and
replays older than five minutes.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.buttons import numbered_text, resolve_numbered_reply

logger = logging.getLogger(__name__)

MAX_BUTTONS = 25


class SlackOutput(SlackBot):
    """Rasa's Slack output with a configurable API address and Block Kit's button limit."""

    def __init__(self, token: str, slack_channel: str | None = None, thread_id: str | None = None,
                 proxy: str | None = None, api_url: str = "https://slack.com/api/") -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=api_url.rstrip("/") + "/")

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

    async def process_message(self, request: Request, on_new_message: Any, text: str,
                              sender_id: str | None, metadata: dict | None) -> Any:
        if sender_id:
            text = await resolve_numbered_reply(request.app, sender_id, text)
        return await super().process_message(request, on_new_message, text, sender_id, metadata)


__all__ = ["SlackInput", "SlackOutput", "UserMessage"]
