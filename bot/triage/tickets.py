"""Triage feeds the agents' queue (``python -m bot.triage FILE --tickets``, opt-in).

A triaged message that needs a person, i.e. in the ``human`` queue (the NLU was unsure, or the
sender asked for a person) or with priority ``urgent`` / ``high``, becomes a support ticket in the
order service, next to the chat handoffs, so bulk e-mail and contact-form triage lands where the
agents work (the console at ``/agent/``). One ticket per message: the ticket remembers the
message's id (``triage:<channel>:<id>``, unique), so running the same file again files nothing new.

The ticket is the sender's only when they are proven to own every order the message names (as in
the triage output's ``owned: yes``); otherwise it has no customer and no order, and the agent
answers at ``reply_to`` (the e-mail address, phone or sender given). A new urgent ticket is
announced in Slack when ``SLACK_TICKETS_WEBHOOK_URL`` is set (``actions/notify.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actions import notify
from bot.triage.records import Inbound

NEEDS_PERSON_PRIORITIES = ("urgent", "high")
LANGUAGE_NAMES = {"en": "English", "fr": "French", "sw": "Swahili"}


def needs_person(row: dict[str, Any]) -> bool:
    return row.get("queue") == "human" or row.get("priority") in NEEDS_PERSON_PRIORITIES


def source_message_id(message: Inbound) -> str:
    return f"triage:{(message.channel or '-').strip().lower()}:{message.id}"


def summary(message: Inbound, row: dict[str, Any]) -> str:
    """One English line for the queue; order facts only through ``priority_reasons`` (owned orders)."""
    source = (message.channel or "message").strip()
    orders = ", ".join(row.get("orders") or []) or "none named"
    reasons = ", ".join(r.replace("_", " ") for r in row.get("priority_reasons") or [])
    return (f"{source.capitalize()} {message.id} in {LANGUAGE_NAMES.get(row['language'], row['language'])}: "
            f"{str(row['intent']).replace('_', ' ')} (confidence {float(row['confidence']):.2f}); orders: {orders}, "
            f"owned by the sender: {row['owned']}.{' Urgent: ' + reasons + '.' if reasons else ''}"
            f" Message: \"{message.text[:200]}\"")


@dataclass
class TicketCounts:
    filed: int = 0
    already_filed: int = 0
    failed: int = 0
    numbers: dict[str, str] = field(default_factory=dict)  # message id -> ticket number

    def to_dict(self) -> dict[str, Any]:
        return {"filed": self.filed, "already_filed": self.already_filed, "failed": self.failed}


def file_ticket(service: Any, message: Inbound, row: dict[str, Any], customer_id: int | None,
                counts: TicketCounts) -> str | None:
    """Files the row's ticket when it needs a person; the ticket number, or None."""
    if not needs_person(row):
        return None
    owned_order = next((n for n, owned in (row.get("ownership") or {}).items() if owned == "yes"), None)
    text = summary(message, row)
    result = service.open_ticket(
        customer_id=customer_id, language=row["language"], intent=str(row["intent"])[:64],
        order_number=owned_order if customer_id is not None else None, priority=row["priority"],
        summary=text, transcript=[{"from": "user", "text": message.text, "channel": message.channel}],
        channel=(message.channel or "triage")[:32], queue=row["queue"], source="triage",
        source_message_id=source_message_id(message),
        reply_to=message.email or message.phone or message.sender,
    )
    if not result.ok:
        counts.failed += 1
        return None
    number = result.data["ticket_number"]
    counts.numbers[message.id] = number
    if result.duplicate:
        counts.already_filed += 1
    else:
        counts.filed += 1
        if row["priority"] == "urgent":
            notify.urgent_ticket(number, row["queue"], row["language"], text)
    return number
