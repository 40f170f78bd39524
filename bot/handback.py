"""Hands a conversation back to the bot (or closes its ticket) from a script.

    python -m bot.handback CONVERSATION_ID [--ticket T-000001] [--close] [--agent NAME] [--url URL]

Does what the agent console's "Hand back to the bot" / "Close" buttons do (``bot/handoff/console.py``):
the ticket is marked handed back (or closed) with an audit row, the conversation resumes and the bot
greets the customer in their language on their channel. Without ``--ticket`` the conversation's
active ticket is used; a conversation without a ticket is refused, as in the console.

Authenticates with the HTTP API token: ``RASA_AUTH_TOKEN`` from the environment or ``.env``, else
the token the running ``make run`` generated (it publishes it, owner-only, in ``RUNTIME_FILE``).
The token is never printed or logged. Exit status: 0 done, 1 refused (no such ticket...), 2 the
server could not be reached or the token is missing or wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bot import settings


class HandbackError(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def api(base: str, token: str, method: str, path: str, agent: str, body: dict | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "X-Agent-Name": agent},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            reason = json.loads(error.read() or b"{}").get("error") or error.reason
        except ValueError:
            reason = error.reason
        if error.code == 401:
            raise HandbackError("the server refused the API token (RASA_AUTH_TOKEN)", 2) from None
        raise HandbackError(f"HTTP {error.code}: {reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise HandbackError(f"the server at {base} could not be reached: {error}", 2) from None


def hand_back(conversation_id: str | None, ticket: str | None = None, base: str | None = None,
              close: bool = False, agent: str = "api") -> dict:
    token = settings.client_setting("RASA_AUTH_TOKEN")
    if not token:
        raise HandbackError("no API token: set RASA_AUTH_TOKEN (or start the servers with make run)", 2)
    if base is None:
        host = settings.client_setting("RASA_HOST") or "127.0.0.1"
        base = f"http://{host}:{settings.client_setting('RASA_PORT') or '5005'}"
    base = base.rstrip("/")
    if ticket is None:
        if not conversation_id:
            raise HandbackError("give a conversation id or --ticket")
        query = urllib.parse.urlencode({"conversation_id": conversation_id})
        found = api(base, token, "GET", f"/agent/api/tickets?{query}", agent).get("tickets") or []
        if not found:
            raise HandbackError(f"conversation {conversation_id!r} has no open ticket")
        ticket = found[0]["number"]
    else:
        details = api(base, token, "GET", f"/agent/api/tickets/{urllib.parse.quote(ticket, safe='')}", agent)
        owner = details.get("ticket", {}).get("conversation_id")
        if conversation_id and owner and owner != conversation_id:
            raise HandbackError(f"ticket {ticket} belongs to another conversation")
    action = "close" if close else "handback"
    return api(base, token, "POST", f"/agent/api/tickets/{urllib.parse.quote(ticket, safe='')}/{action}", agent, {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("conversation_id", nargs="?", help="the conversation (Rasa sender id)")
    parser.add_argument("--ticket", help="the support ticket (default: the conversation's open ticket)")
    parser.add_argument("--close", action="store_true", help="close the ticket instead of handing back")
    parser.add_argument("--agent", default="api", help="name recorded in the audit (default: api)")
    parser.add_argument("--url", help="the Rasa server (default: http://RASA_HOST:RASA_PORT)")
    args = parser.parse_args(argv)
    try:
        result = hand_back(args.conversation_id, args.ticket, args.url, args.close, args.agent)
    except HandbackError as error:
        print(f"handback: {error}", file=sys.stderr)
        return error.status
    ticket = result.get("ticket") or {}
    delivered = result.get("delivered")
    how = {None: "the conversation was not paused: no greeting",
           "next_exchange": "the greeting waits for the customer's next message (REST)"}.get(
        delivered, f"the bot greeted the customer on {delivered}")
    print(f"{ticket.get('ticket_number')}: {ticket.get('status')}; {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
