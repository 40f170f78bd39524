"""Tells the support team about a new urgent ticket in a Slack channel (optional).

``SLACK_TICKETS_WEBHOOK_URL`` is a Slack incoming webhook (https://hooks.slack.com/services/...);
empty (the default) turns this off. The message names the ticket, its queue and language, the
English summary and a link to it in the agent console (``AGENT_CONSOLE_URL``, default the
server's own ``/agent/``). It never blocks or fails a conversation or a triage run: a webhook
that is down is logged (without its URL, which is a secret) and forgotten.

No Rasa import: used by the action server (chat handoffs) and by ``bot.triage`` (``--tickets``).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)

TIMEOUT_S = 5


def console_url() -> str:
    configured = (os.environ.get("AGENT_CONSOLE_URL") or "").strip()
    if configured:
        return configured.rstrip("/") + "/"
    host = os.environ.get("RASA_HOST") or "127.0.0.1"
    port = os.environ.get("RASA_PORT") or "5005"
    return f"http://{host}:{port}/agent/"


def message(ticket_number: str, queue: str, language: str, summary: str) -> dict[str, str]:
    link = f"{console_url()}#{ticket_number}"
    return {"text": f":rotating_light: Urgent ticket <{link}|{ticket_number}> ({queue}, {language}): {summary[:500]}"}


def urgent_ticket(ticket_number: str, queue: str, language: str, summary: str) -> bool:
    """Posts the notification (blocking: call it from a thread). True when Slack accepted it."""
    url = (os.environ.get("SLACK_TICKETS_WEBHOOK_URL") or "").strip()
    if not url:
        return False
    body = json.dumps(message(ticket_number, queue, language, summary)).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as error:
        logger.warning("the Slack notification of ticket %s failed: %s", ticket_number, type(error).__name__)
        return False
