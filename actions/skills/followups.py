"""Short replies whose meaning depends on what the bot just said.

People answer the bot's last message, not an intent catalogue: "yes" after "Shall I open a dispute?",
an order number pasted on its own, "and 8170...07?" after a status answer. Outside a form these get no
meaning from the NLU alone, so three rules send them here (``data/rules/conversation.yml``):

* **yes** (``action_accept_offer``): the bot's previous turn offered a skill, as a button whose payload
  is a skill intent (``/open_dispute{"dispute_reason": "not_received"}``): the skill starts as if the
  button was clicked, with the order under discussion. Nothing offered: the user is asked what to do.
* **no** (``action_decline_offer``): nothing starts; "anything else?".
* **why? / what now? / what do you mean?** (``action_explain``): at a form's question, why the bot
  asks it (the form then asks again); otherwise the bot's last answer, said again. A refusal already
  says why and what to do instead; "pourquoi ?" must not be filed as the cancellation reason.
* **an order number** (``action_order_followup``): the skill a policy answer just offered, else the
  skill the user last used (a second order: "and this one?"), starts for that order; with neither, the
  user picks what to do with it (buttons). "And my other order?" without a number starts the last
  skill for an order still to choose (``another_order``), also when the NLU was unsure of it or
  read it as out of scope (``action_out_of_scope``: "what about my other order?" is about orders
  whatever the classifier says).
* **a problem stated as a fact** (also ``action_order_followup``: the classifier read it as an
  answer, ``inform``, with nothing asked): "ordered 12, got 8", with or without an order number,
  is a complaint whatever the intent says. When the NLU read a dispute reason in it (an entity
  with a code, or its reading of the whole message), the dispute starts with that reason, or the
  delivery check when the reason is that nothing came: the same skills a complaint read as
  ``open_dispute`` / ``order_not_received`` starts. A cancellation reason alone ("changed my
  mind") does not start a cancellation: nothing asked, the user picks what to do.

A skill starts by setting the slots its button would set and running its form next
(``FollowupAction``): the form validates the pre-filled order number as if the user had typed it, so
ownership, identity and the rules are checked exactly as on the normal path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.skills.catalogue import BY_INTENT, names_another_order
from actions.skills.context import faq_topic
from actions.skills.forms import clear_run_slots, message_reason

HANDOFF_INTENT = "request_human"
PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$", re.S)
# Slots a skill button may pre-fill (its payload's entities).
PREFILLABLE = ("order_id", "cancel_reason", "dispute_reason")


def parse_payload(payload: Any) -> tuple[str, dict[str, Any]] | None:
    """``/intent{"entity": "value"}`` -> (intent, entities); None for anything else."""
    match = PAYLOAD.match(str(payload or "").strip())
    if not match:
        return None
    entities: dict[str, Any] = {}
    if match.group("entities"):
        try:
            loaded = json.loads(match.group("entities"))
        except ValueError:
            return None
        entities = loaded if isinstance(loaded, dict) else {}
    return match.group("intent"), entities


def previous_bot_turn(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot messages between the user's previous message and the current one, in order."""
    messages: list[dict[str, Any]] = []
    users_seen = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users_seen += 1
            if users_seen == 2:
                break
        elif kind == "bot" and users_seen == 1:
            messages.append(event)
    return list(reversed(messages))


# Responses whose buttons are a menu to choose from, not an offer a "yes" accepts.
MENUS = ("utter_ask_what_to_do",)
# Responses that already ask "anything else?": a "yes" to them means "something else", not "ok".
ASKS_ANYTHING_ELSE = ("utter_anything_else", "utter_you_are_welcome")


def offered_skill(tracker: Tracker, general_only: bool = False) -> tuple[str, dict[str, Any]] | None:
    """The first skill (or the hand-over) the bot's previous turn offered as a button.

    ``general_only``: only an offer not tied to the order just discussed ("Shall I check an order for
    you?" after a policy answer), not a next step for that order ("Open a dispute" after a late one)."""
    for message in previous_bot_turn(tracker):
        name = (message.get("metadata") or {}).get("utter_action") or ""
        if (general_only and not name.startswith("utter_offer_")) or name in MENUS:
            continue
        for button in (message.get("data") or {}).get("buttons") or []:
            parsed = parse_payload(button.get("payload"))
            if parsed and (parsed[0] in BY_INTENT or parsed[0] == HANDOFF_INTENT):
                return parsed
    return None


def message_order_number(tracker: Tracker) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "order_id" and entity.get("value"):
            return re.sub(r"\D", "", str(entity["value"])) or None
    return None


def start_skill(tracker: Tracker, intent: str, entities: dict[str, Any]) -> list[EventType]:
    """Events that start ``intent``'s form as its button would (a fresh run, pre-filled slots)."""
    if intent == HANDOFF_INTENT:
        return [FollowupAction("action_handoff")]
    events: list[EventType] = clear_run_slots(tracker, keep=entities)
    events += [SlotSet(slot, str(entities[slot])) for slot in PREFILLABLE if entities.get(slot)]
    events.append(FollowupAction(BY_INTENT[intent].form))
    return events


def problem_skill(reason: str) -> tuple[str, dict[str, Any]]:
    """The skill a problem with an order calls for, with its reason pre-filled: the delivery check
    when nothing came (the guides: check the date and tracking first), else the dispute."""
    return ("order_not_received" if reason == "not_received" else "open_dispute"), {"dispute_reason": reason}


def stated_problem(tracker: Tracker) -> tuple[str, dict[str, Any]] | None:
    """The skill a problem stated in the latest message calls for; None when the NLU read no dispute
    reason in it."""
    reason = message_reason(tracker, "dispute_reason")
    return None if reason is None else problem_skill(reason)


def another_order(tracker: Tracker) -> list[EventType] | None:
    """ "And my other order?" right after a skill answered about one: the same skill, for an order
    the form asks for (the list of the customer's orders, or its number). None when the message
    does not point away from the last order or no skill was used yet."""
    last = tracker.get_slot("last_skill")
    if last not in BY_INTENT or message_order_number(tracker) is not None:
        return None
    if not names_another_order((tracker.latest_message or {}).get("text")):
        return None
    return [SlotSet("order_id", None), *start_skill(tracker, last, {})]


class ActionAcceptOffer(Action):
    def name(self) -> str:
        return "action_accept_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        offer = offered_skill(tracker)
        if offer is not None:
            return start_skill(tracker, *offer)
        said = {(m.get("metadata") or {}).get("utter_action") for m in previous_bot_turn(tracker)}
        if tracker.get_slot("last_skill") and not said & set(ASKS_ANYTHING_ELSE):
            # "ok", "sawa", "d'accord" after an answer: an acknowledgement, not a request.
            dispatcher.utter_message(response="utter_anything_else")
        else:
            dispatcher.utter_message(response="utter_ask_what_to_do")
        return []


class ActionDeclineOffer(Action):
    def name(self) -> str:
        return "action_decline_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_no_problem")
        return []


class ActionOrderFollowup(Action):
    def name(self) -> str:
        return "action_order_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = message_order_number(tracker)
        problem = stated_problem(tracker)
        if number is None:
            switched = another_order(tracker)
            if switched is not None:
                return switched
            if problem is not None:
                return start_skill(tracker, *problem)
            # an e-mail, a phone or a cancellation reason with nothing asked: what for?
            dispatcher.utter_message(response="utter_ask_what_to_do")
            return []
        # "Tell me the order number and I'll check" -> that order; a problem said with the number ->
        # its skill for that order; after an answer about one order, another number means "the
        # same for this one".
        chosen = offered_skill(tracker, general_only=True) or problem
        if chosen is not None:
            intent, entities = chosen
            return start_skill(tracker, intent, {**entities, "order_id": number})
        last = tracker.get_slot("last_skill")
        if last in BY_INTENT:
            return start_skill(tracker, last, {"order_id": number})
        dispatcher.utter_message(response="utter_ask_order_task", order_id=number)
        return [SlotSet("order_id", number)]


# FAQ topic -> what its answer offers to do ("tell me the order number and I'll check ...").
FAQ_OFFERS = {
    "cancel_how": "cancel_order", "cancel_time_limit": "cancel_order", "cancel_reason_choice": "cancel_order",
    "cancel_fees": "order_status", "seller_not_responding": "order_status",
    "cancel_refund": "refund_status", "restore_cancelled": "restore_order",
    "platform_cancelled": HANDOFF_INTENT, "withdraw_dispute_how": "cancel_dispute",
    "reopen_dispute": "open_dispute", "dispute_process": "open_dispute", "cancel_after_shipment": "open_dispute",
    "delivery_time": "order_not_received",
}


class ActionOutOfScope(Action):
    """Out of scope, unless it points from the order just answered to another one."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        switched = another_order(tracker)
        if switched is not None:
            return switched
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionOfferSkill(Action):
    """After a policy answer, offers to do what it describes ("Shall I cancel an order for you?")."""

    def name(self) -> str:
        return "action_offer_skill"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        skill = FAQ_OFFERS.get(faq_topic(tracker) or "")
        if skill:
            dispatcher.utter_message(response=f"utter_offer_{skill}")
        return []


# Why the bot asks a form's question, for "why?" / "what for?" typed there (the form asks again).
WHY_ASKED = {
    "order_id": "utter_why_order_id",
    "contact": "utter_why_contact",
    "cancel_reason": "utter_why_cancel_reason",
    "dispute_reason": "utter_why_dispute_reason",
    "dispute_description": "utter_why_dispute_description",
    "dispute_evidence": "utter_why_dispute_evidence",
    "confirmed": "utter_why_confirmed",
}
# Bot messages that are not an answer worth saying again: small talk, acknowledgements, questions.
NOT_ANSWERS = frozenset({
    "utter_greet", "utter_goodbye", "utter_you_are_welcome", "utter_anything_else", "utter_no_problem",
    "utter_verified", "utter_default", "utter_out_of_scope", "utter_iamabot", "utter_language_switched",
    "utter_explain_again", "utter_restart", "utter_empty_message",
})
NOT_ANSWER_PREFIXES = ("utter_ask_", "utter_offer_", "utter_why_")


def last_answer(tracker: Tracker) -> dict[str, Any] | None:
    """The bot's last answer in this session, if it was said in the conversation's current language.

    The message is said again as it was sent (its text and buttons): its order number and dates
    are not kept apart from the text, so after a change of language there is nothing to say again.
    """
    language, found = None, None
    for event in tracker.events:
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            found = None
        elif kind == "slot" and event.get("name") == "language":
            language = event.get("value")
        elif kind == "bot":
            name = (event.get("metadata") or {}).get("utter_action") or ""
            if name and name not in NOT_ANSWERS and not name.startswith(NOT_ANSWER_PREFIXES):
                found = (event, language)
    if found is None or found[1] != tracker.get_slot("language"):
        return None
    return found[0]


class ActionExplain(Action):
    """ "Why?", "what now?", "what do you mean?": the user asks about the bot's last message."""

    def name(self) -> str:
        return "action_explain"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if (tracker.active_loop or {}).get("name"):
            response = WHY_ASKED.get(tracker.get_slot("requested_slot") or "")
            if response:
                dispatcher.utter_message(response=response)
            return []  # the form asks its question again
        answer = last_answer(tracker)
        if answer is None:
            dispatcher.utter_message(response="utter_ask_what_to_do")
            return []
        dispatcher.utter_message(response="utter_explain_again")
        data = answer.get("data") or {}
        # Under its own name (Rasa keeps the extra field as the message's metadata), so a "yes" to
        # its buttons and the tests read it as what it is.
        dispatcher.utter_message(text=answer.get("text"), buttons=data.get("buttons") or [],
                                 utter_action=(answer.get("metadata") or {}).get("utter_action"))
        return []
