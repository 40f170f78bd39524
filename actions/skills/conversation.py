"""Conversation-level actions: language slot, stopping a form, clarifying. Handing over to a human
is in ``actions/skills/handoff.py`` (``ActionHandoff`` is re-exported here for its callers)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.skills import context as ctx
from actions.skills.forms import reset_run_slots
from actions.skills.handoff import ActionHandoff  # noqa: F401 - moved; skills.py imports it from here

# Intents a user is offered when the NLU is unsure (button titles per language).
INTENT_LABELS: dict[str, dict[str, str]] = {
    "order_status": {"en": "Where is my order?", "fr": "Où est ma commande ?", "sw": "Oda yangu iko wapi?"},
    "cancel_order": {"en": "Cancel an order", "fr": "Annuler une commande", "sw": "Kufuta oda"},
    "restore_order": {"en": "Restore a cancelled order", "fr": "Rétablir une commande annulée", "sw": "Kurejesha oda iliyofutwa"},
    "order_not_received": {"en": "My order never arrived", "fr": "Commande jamais reçue", "sw": "Oda haijafika"},
    "open_dispute": {"en": "Open a dispute", "fr": "Ouvrir un litige", "sw": "Kufungua mgogoro"},
    "cancel_dispute": {"en": "Withdraw a dispute", "fr": "Retirer un litige", "sw": "Kuondoa mgogoro"},
    "refund_status": {"en": "Where is my refund?", "fr": "Où est mon remboursement ?", "sw": "Marejesho ya pesa yangu"},
    "request_human": {"en": "Talk to an agent", "fr": "Parler à un conseiller", "sw": "Ongea na mhudumu"},
}


class ActionStopForm(Action):
    """The user gave up in the middle of a form ("no", "forget it"): stop, file nothing."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
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
        # Only skills the model found plausible are worth a button; a person is always one request away.
        ranking = message.get("intent_ranking") or []
        options = [r["name"] for r in ranking
                   if r.get("name") in INTENT_LABELS and r["name"] != "request_human"
                   and (r.get("confidence") or 0) >= CLARIFY_MIN_CONFIDENCE][:2]
        if not options:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": INTENT_LABELS[name][lang], "payload": f"/{name}"} for name in options]
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
