"""Conversation-level actions: language slot, stopping a form, handing over to a human, clarifying."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.skills import context as ctx
from actions.skills.catalogue import BY_INTENT
from actions.skills.context import ServiceUnavailable, call, service
from actions.skills.forms import reset_run_slots
from actions.skills.localise import glossary


def skill_titles() -> dict[str, dict[str, str]]:
    """Intent -> button title per language (the glossary's ``skills``: one home for the words)."""
    return glossary()["skills"]


class ActionStopForm(Action):
    """The user gave up in the middle of a form ("no", "forget it"): stop, file nothing."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_form_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_run_slots()]


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
            if name in BY_INTENT:
                return name
    return (tracker.latest_message or {}).get("intent", {}).get("name") or "request_human"


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
        summary = (f"Customer writing in {lang} needs help with {intent.replace('_', ' ')}"
                   f"{' on order ' + order_number if order_number else ''}. Last message: \"{last_user[:200]}\"")
        try:
            customer = await ctx.identify(tracker)
            result = await call(
                service().open_ticket, customer_id=customer, language=lang, intent=intent,
                order_number=order_number if customer is not None else None,
                priority=BY_INTENT[intent].priority if intent in BY_INTENT else "normal", summary=summary, transcript=lines,
                idempotency_key=f"{tracker.sender_id}:ticket:{len(tracker.events)}",
                channel=ctx.channel_name(tracker),
            )
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        number = result.data.get("ticket_number") or result.data.get("number")
        dispatcher.utter_message(response="utter_handoff", ticket_number=number)
        return [ActiveLoop(None), *reset_run_slots(), SlotSet("ticket_number", number), ConversationPaused()]


CLARIFY_MIN_CONFIDENCE = 0.1


class ActionClarify(Action):
    """Low NLU confidence: offer the two likeliest intents as buttons instead of guessing."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = ctx.language(tracker)
        message = tracker.latest_message or {}
        if not str(message.get("text") or "").strip():
            dispatcher.utter_message(response="utter_empty_message")
            return []
        # Only skills the model found plausible are worth a button; a person is always one request away.
        ranking = message.get("intent_ranking") or []
        titles = skill_titles()
        options = [r["name"] for r in ranking
                   if r.get("name") in titles and r["name"] != "request_human"
                   and (r.get("confidence") or 0) >= CLARIFY_MIN_CONFIDENCE][:2]
        if not options:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": titles[name][lang], "payload": f"/{name}"} for name in options]
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
