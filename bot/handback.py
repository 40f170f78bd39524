"""A human agent hands a paused conversation back to the bot.

    python -m bot.handback CONVERSATION_ID [--ticket T-000001]

Resumes the conversation through the Rasa HTTP API (token from the settings), marks the ticket
handed back, and lets the bot greet the user again in their language (``utter_handoff_back``).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request

from bot import settings


def api(base: str, token: str, path: str, body: dict) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode({'token': token, 'output_channel': 'latest'})}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def hand_back(conversation_id: str, ticket: str | None = None, base: str | None = None) -> dict:
    config = settings.load()
    base = base or f"http://{config['RASA_HOST']}:{config['RASA_PORT']}"
    token = config["RASA_AUTH_TOKEN"]
    quoted = urllib.parse.quote(conversation_id, safe="")
    api(base, token, f"/conversations/{quoted}/tracker/events", {"event": "resume"})
    if ticket:
        from actions.orders import get_service

        get_service().set_ticket_status(number=ticket, status="handed_back")
    return api(base, token, f"/conversations/{quoted}/execute", {"name": "utter_handoff_back"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("conversation_id")
    parser.add_argument("--ticket", help="support ticket to mark as handed back")
    args = parser.parse_args(argv)
    result = hand_back(args.conversation_id, args.ticket)
    for message in result.get("messages", []):
        print(message.get("text", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
