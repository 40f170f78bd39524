"""Handing a conversation to a person, and keeping it with them until they hand it back.

* ``action_handoff``: opens a support ticket for this conversation (its id and channel, the
  customer's language, queue, priority with the order's urgency, an English summary and the
  transcript), tells the customer the ticket number and pauses the bot (``ConversationPaused``).
  The agent console (``bot/handoff/console.py``) shows the ticket; an agent answers there, then
  hands back or closes, which resumes the bot.
* ``action_session_start``: a conversation idle for 60 minutes starts a new session, and a new
  session normally un-pauses the bot (Rasa's ``SessionStarted`` resets the tracker). This custom
  session start does what Rasa's does (carries the slots over) and pauses again when the
  conversation was paused, so the bot stays quiet until an agent hands back or closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import notify
from actions.orders import rules
from actions.skills import context as ctx
from actions.skills.catalogue import SKILLS
from actions.skills.context import ServiceUnavailable, call, service
from actions.skills.forms import message_entity, reset_run_slots

logger = logging.getLogger(__name__)

# ticket priority per skill (actions/skills/catalogue.py), "normal" for anything else
PRIORITY = {skill.intent: skill.priority for skill in SKILLS}
LANGUAGE_NAMES = {"en": "English", "fr": "French", "sw": "Swahili"}
_background: set[asyncio.Task] = set()


def transcript(tracker: Tracker, limit: int = 40) -> list[dict[str, Any]]:
    lines = []
    for event in tracker.events:
        if event.get("event") in ("user", "bot") and event.get("text"):
            lines.append({"from": event["event"], "text": str(event["text"])[:500],
                          "at": event.get("timestamp")})
    return lines[-limit:]


def last_task_intent(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name in PRIORITY:
                return name
    return (tracker.latest_message or {}).get("intent", {}).get("name") or "request_human"


def summary(lang: str, intent: str, order_number: str | None, last_user: str, reasons: list[str]) -> str:
    """One English line for the agents' queue (agents read English whatever the customer writes)."""
    what = "asked for a person" if intent == "request_human" else f"needs help with {intent.replace('_', ' ')}"
    order = f" on order {order_number}" if order_number else ""
    urgent = f" Urgent: {', '.join(r.replace('_', ' ') for r in reasons)}." if reasons else ""
    return (f"Customer writing in {LANGUAGE_NAMES.get(lang, lang)} {what}{order}.{urgent}"
            f" Last message: \"{last_user[:200]}\"")


async def urgency(customer: int | None, order_number: str | None) -> list[str]:
    """Why the customer's own order needs a person now (shipped and overdue, escalated dispute...)."""
    if customer is None or not order_number:
        return []
    svc = service()
    order = await call(svc.get_order, order_number=order_number, customer_id=customer)
    return rules.urgent_reasons(order, svc.now()) if order is not None else []


def notify_in_background(number: str, queue: str, lang: str, text: str) -> None:
    task = asyncio.create_task(asyncio.to_thread(notify.urgent_ticket, number, queue, lang, text))
    _background.add(task)
    task.add_done_callback(_background.discard)


class ActionHandoff(Action):
    """Opens a triage ticket, tells the user its number and pauses the bot for a human agent."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = last_task_intent(tracker)
        order_number = tracker.get_slot("order_id")
        lang = ctx.language(tracker)
        lines = transcript(tracker)
        last_user = next((line["text"] for line in reversed(lines) if line["from"] == "user"), "")
        try:
            customer = await ctx.identify(tracker)
            reasons = await urgency(customer, order_number)
            priority = "urgent" if reasons else PRIORITY.get(intent, "normal")
            queue = rules.ticket_queue(intent).value
            text = summary(lang, intent, order_number, last_user, reasons)
            result = await call(
                service().open_ticket, customer_id=customer, language=lang, intent=intent,
                order_number=order_number if customer is not None else None,
                priority=priority, summary=text, transcript=lines,
                idempotency_key=f"{tracker.sender_id}:ticket:{len(tracker.events)}",
                channel=ctx.channel_name(tracker), conversation_id=tracker.sender_id, queue=queue,
            )
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        number = result.data.get("ticket_number") or result.data.get("number")
        if result.ok and not result.duplicate and priority == "urgent":
            notify_in_background(number, queue, lang, text)
        dispatcher.utter_message(response="utter_handoff", ticket_number=number)
        if message_entity(tracker, "contact"):
            # A number or address given with the request reads as "call me back": agents only answer
            # in the conversation (the console relays it), so say so rather than let a call be expected.
            dispatcher.utter_message(response="utter_handoff_in_chat_only")
        return [ActiveLoop(None), *reset_run_slots(), SlotSet("ticket_number", number), ConversationPaused()]


# Never carried into a new session: who was verified (a verification ends with its session,
# docs/security.md), the form's "verified" mark, and a "yes" given to a question of the old session.
NOT_CARRIED = (ctx.VERIFICATION_SLOT, "contact", "confirmed")


class ActionSessionStart(Action):
    """Rasa's session start (slots carried over, except identity), paused again when an agent has
    the conversation."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # carry_over_slots_to_new_session (bot/domain/core.yml): the values the session ends with
        events += [SlotSet(name, value) for name, value in tracker.slots.items()
                   if value is not None and name not in NOT_CARRIED]
        if tracker.is_paused():
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events
