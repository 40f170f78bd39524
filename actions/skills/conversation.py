"""Conversation-level actions: language slot, stopping a form, clarifying. Handing over to a human
is in ``actions/skills/handoff.py`` (``ActionHandoff`` is re-exported here for its callers)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.skills import context as ctx
from actions.skills.catalogue import about_the_number, topic_skills
from actions.skills.followups import another_order
from actions.skills.forms import FIND_ORDER_NUMBER, reason_from_text, reset_run_slots
from actions.skills.handoff import ActionHandoff  # noqa: F401 - moved; skills.py imports it from here
from actions.skills.localise import glossary


def skill_titles() -> dict[str, dict[str, str]]:
    """Intent -> button title per language (the glossary's ``skills``: one home for the words)."""
    return glossary()["skills"]


class ActionStopForm(Action):
    """The user gave up in the middle of a form ("no", "forget it"): stop, file nothing."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        form = (tracker.active_loop or {}).get("name")
        message = tracker.latest_message or {}
        asked = tracker.get_slot("requested_slot")
        if form and ctx.latest_intent(tracker)[0] == "deny":  # not a goodbye
            if asked == "order_id" and about_the_number(message.get("text")):
                # "I don't have it", "je sais pas" at "which order?": where to find it; the form goes on.
                dispatcher.utter_message(response=FIND_ORDER_NUMBER)
                return [FollowupAction(form)]
            reason = reason_from_text("cancel_reason", message.get("text")) if asked == "cancel_reason" else None
            if reason:
                # "I changed my mind", "sitaki tena" at "why do you want to cancel?": the reason, not a stop.
                return [SlotSet("cancel_reason", reason), FollowupAction(form)]
        dispatcher.utter_message(response="utter_form_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_run_slots()]


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
        switched = another_order(tracker)  # "and my other order?", which the NLU alone cannot place
        if switched is not None:
            return switched
        # Only skills the model found plausible are worth a button; a person is always one request away.
        ranking = message.get("intent_ranking") or []
        titles = skill_titles()
        options = list(topic_skills(message.get("text") or "")) or [
            r["name"] for r in ranking
            if r.get("name") in titles and r["name"] != "request_human"
            and (r.get("confidence") or 0) >= CLARIFY_MIN_CONFIDENCE][:2]
        if not options:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": titles[name][lang], "payload": f"/{name}"} for name in options]
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
