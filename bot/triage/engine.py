"""Triage of one parsed message: language, intent, orders, ownership, priority, queue, reply.

Read-only: the order service is asked ``verify_owner``, ``customer_for_identity`` and
``get_order``, nothing else, and only when the message names an order and says who sent it.
Order facts (dates, dispute state) are used only for orders the sender is proven to own, and
the output then says ``owned: yes``; for anyone else it says ``no`` or ``unknown`` and nothing
about the order.

Priority:
  urgent  an owned order is shipped and past its estimated delivery date, its dispute is
          escalated to platform mediation, or its buyer protection (or the reopening window of a
          withdrawn dispute) ends within 3 days; not for small talk
  high    open_dispute, order_not_received
  low     small talk, out_of_scope
  normal  everything else (and any message the NLU is unsure about)
Queue: cancellations, disputes, delivery, refunds, other by intent (FAQ by topic); the ``human``
queue when the NLU is unsure (confidence < 0.5 or nlu_fallback) or the sender asks for a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from actions.formats import normalize_order_number
from actions.identity import trusted_identity
from actions.orders import rules
from actions.orders.enums import TicketQueue, values
from bot.triage.records import Inbound
from bot.triage.replies import Replies

LANGUAGES = ("en", "fr", "sw")
MIN_CONFIDENCE = 0.5

SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "switch_language"}
LOW_INTENTS = SMALL_TALK | {"out_of_scope"}
HIGH_INTENTS = {"open_dispute", "order_not_received"}
UNSURE_INTENTS = {"nlu_fallback", None, ""}

QUEUES = tuple(values(TicketQueue))  # the agents' queues (actions/orders/enums.py)
PRIORITIES = ("urgent", "high", "normal", "low")
QUEUE_BY_FAQ = {
    "cancel_how": "cancellations",
    "cancel_fees": "cancellations",
    "cancel_after_shipment": "cancellations",
    "cancel_time_limit": "cancellations",
    "cancel_reason_choice": "cancellations",
    "seller_not_responding": "cancellations",
    "frequent_cancellations": "cancellations",
    "restore_cancelled": "cancellations",
    "platform_cancelled": "cancellations",
    "cancel_refund": "refunds",
    "escrow": "refunds",
    "withdraw_dispute_how": "disputes",
    "reopen_dispute": "disputes",
    "seller_asks_close_dispute": "disputes",
    "dispute_process": "disputes",
    "dispute_evidence": "disputes",
    "delivery_time": "delivery",
    "contact_seller": "other",
    "safe_buying": "other",
    "find_order_number": "other",
}
# First reply for intents that need no order.
REPLY_BY_INTENT = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
    "switch_language": "utter_language_switched",
    "affirm": "utter_anything_else",
    "deny": "utter_anything_else",
    "inform": "utter_anything_else",
}
READ_SKILLS = {"order_status", "order_not_received", "refund_status"}
WRITE_SKILLS = {"cancel_order", "restore_order", "open_dispute", "cancel_dispute"}
SKILLS = READ_SKILLS | WRITE_SKILLS

EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().\-]{6,18}\d(?!\w)")


def faq_queue(topic: str) -> str:
    if topic in QUEUE_BY_FAQ:
        return QUEUE_BY_FAQ[topic]
    for prefix, queue in (("cancel", "cancellations"), ("restore", "cancellations"), ("dispute", "disputes"),
                          ("refund", "refunds"), ("deliver", "delivery")):
        if prefix in topic:
            return queue
    return "other"


def contacts_of(message: Inbound) -> list[tuple[str, str]]:
    """(kind, value) the sender can be verified by: e-mail / phone fields, an e-mail or phone
    sender, then e-mail addresses and phone numbers written in the message (as the bot accepts
    a typed e-mail or phone). Order numbers are not phone numbers."""
    found: list[tuple[str, str]] = []
    if message.email:
        found.append(("email", message.email))
    if message.phone:
        found.append(("phone", message.phone))
    sender = message.sender or ""
    if EMAIL_RE.fullmatch(sender):
        found.append(("email", sender))
    elif PHONE_RE.fullmatch(sender):
        found.append(("phone", sender))
    found += [("email", m.group(0)) for m in EMAIL_RE.finditer(message.text)]
    for match in PHONE_RE.finditer(EMAIL_RE.sub(" ", message.text)):
        digits = re.sub(r"\D", "", match.group(0))
        if 9 <= len(digits) <= 15 and len(digits) != 16:
            found.append(("phone", match.group(0)))
    unique: dict[str, tuple[str, str]] = {}
    for kind, value in found:
        unique.setdefault(value.strip().lower(), (kind, value.strip()))
    return list(unique.values())[:6]


def order_numbers(parse: dict[str, Any]) -> list[str]:
    """The order_id entities (already digits, see bot/components/order_id.py), plausible ones,
    deduplicated in order of appearance."""
    numbers: list[str] = []
    for entity in parse.get("entities") or []:
        if entity.get("entity") != "order_id":
            continue
        digits = re.sub(r"\D", "", str(entity.get("value") or ""))
        if normalize_order_number(digits) is not None and digits not in numbers:
            numbers.append(digits)
    return numbers


@dataclass
class Ownership:
    owned: str = "unknown"  # yes: every order named is the sender's; no: some is not; unknown
    per_order: dict[str, str] | None = None
    verified_by: str | None = None
    orders: dict[str, Any] | None = None  # number -> OrderView, owned orders only
    customer_id: int | None = None  # the proven owner, when owned == "yes"


def _skill_messages(intent: str, order: Any, language: str) -> list[tuple[str, dict[str, Any]]]:
    """What the bot's own skill says about an owned order (actions/skills/skills.py), as
    (response, variables), with the facts written for ``language`` and the owner's locale and
    time zone. Changes (cancel, dispute, ...) are not made: their first reply describes the
    order's current state, as the bot shows it."""
    from rasa_sdk.executor import CollectingDispatcher

    from actions.skills import skills
    from actions.skills.localise import Localiser

    dispatcher = CollectingDispatcher()
    loc = Localiser(language, order.customer_locale, order.customer_time_zone)
    if intent == "order_not_received":
        skills.describe_delivery(order, dispatcher, loc)
    elif intent == "refund_status":
        skills.utter_refund(order, dispatcher, loc)
    else:
        skills.describe_order(order, dispatcher, loc)
        if intent == "order_status" and order.refund is not None:
            skills.utter_refund(order, dispatcher, loc)
    standard = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
    return [
        (m["response"], {k: v for k, v in m.items() if k not in standard})
        for m in dispatcher.messages
        if m.get("response")
    ]


class Triager:
    """Triage of parsed messages. ``service`` returns the order service (looked up lazily, so
    a run whose messages name no order never opens the database)."""

    def __init__(self, replies: Replies, service: Callable[[], Any] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.replies = replies
        self._service_provider = service
        self._now = now

    def service(self) -> Any:
        if self._service_provider is not None:
            return self._service_provider()
        from actions.orders import get_service

        return get_service()

    def now(self, service: Any | None) -> datetime:
        if self._now is not None:
            return self._now()
        return service.now() if service is not None else datetime.now(timezone.utc)

    # --- ownership -------------------------------------------------------------------------

    def ownership(self, message: Inbound, numbers: list[str]) -> Ownership:
        contacts = contacts_of(message)
        channel = (message.channel or "").strip().lower()
        # As in the bot (actions/identity.py): only a sender id the platform asserts (Telegram,
        # WhatsApp, Slack) is an identity; REST, e-mail, forms, SMS numbers... never are.
        entry = trusted_identity(channel, message.sender or "") if channel and message.sender else None
        by_identity = entry is not None
        if not numbers or not (contacts or by_identity):
            return Ownership(per_order={n: "unknown" for n in numbers} or None)
        service = self.service()
        identity_customer = None
        if entry is not None:
            # the bot's own mapping: Twilio "whatsapp:+2547..." -> ("whatsapp", "+2547..."), Slack ids...
            identity_customer = service.customer_for_identity(channel=entry[0], external_id=entry[1])
        if identity_customer is None and not contacts:
            # a chat account linked to nobody: the sender is not identifiable
            return Ownership(per_order={n: "unknown" for n in numbers})
        per_order: dict[str, str] = {}
        views: dict[str, Any] = {}
        verified_by: list[str] = []
        owners: set[int] = set()
        for number in numbers:
            view = None
            if identity_customer is not None:
                view = service.get_order(order_number=number, customer_id=identity_customer)
                if view is not None:
                    owners.add(identity_customer)
                    if "channel" not in verified_by:
                        verified_by.append("channel")
            for kind, contact in contacts if view is None else ():
                customer = service.verify_owner(order_number=number, contact=contact)
                if customer is not None:
                    view = service.get_order(order_number=number, customer_id=customer)
                    if view is not None:
                        owners.add(customer)
                        if kind not in verified_by:
                            verified_by.append(kind)
                        break
            per_order[number] = "yes" if view is not None else "no"
            if view is not None:
                views[number] = view
        owned = "yes" if all(v == "yes" for v in per_order.values()) else "no"
        owner = next(iter(owners)) if owned == "yes" and len(owners) == 1 else None
        return Ownership(owned, per_order, "+".join(verified_by) or None, views, owner)

    # --- the whole row -----------------------------------------------------------------------

    def triage(self, message: Inbound, parse: dict[str, Any]) -> dict[str, Any]:
        return self.triage_with_owner(message, parse)[0]

    def triage_with_owner(self, message: Inbound, parse: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """The row, and the customer proven to own every order it names (None otherwise): a
        ticket filed for the row is that customer's (``bot/triage/tickets.py``)."""
        intent_data = parse.get("intent") or {}
        intent = intent_data.get("name")
        confidence = float(intent_data.get("confidence") or 0.0)
        language = parse.get("language") if parse.get("language") in LANGUAGES else "en"
        topic = None
        label = intent or "nlu_fallback"
        if intent == "faq":
            full = intent_data.get("full_retrieval_intent_name") or ""
            topic = full.split("/", 1)[1] if "/" in full else None
            label = full or "faq"
        unsure = intent in UNSURE_INTENTS or confidence < MIN_CONFIDENCE

        numbers = order_numbers(parse)
        ownership = self.ownership(message, numbers)
        now = self.now(self.service()) if ownership.orders else None
        reasons: list[str] = []
        for order in (ownership.orders or {}).values():
            reasons += [r for r in rules.urgent_reasons(order, now) if r not in reasons]

        # Queue
        if unsure:
            queue = "human"
        elif intent == "faq":
            queue = faq_queue(topic or "")
        else:
            queue = rules.ticket_queue(intent).value

        # Priority
        if unsure:
            priority = "normal"
        elif intent in LOW_INTENTS:
            priority = "low"
        elif intent in HIGH_INTENTS:
            priority = "high"
        else:
            priority = "normal"
        if reasons and priority != "low":
            priority = "urgent"
        else:
            reasons = []

        reply_key, reply = self.reply(intent, topic, unsure, language, numbers, ownership)
        return ({
            "id": message.id,
            "line": message.line,
            "language": language,
            "language_confidence": parse.get("language_confidence"),
            "intent": label,
            "confidence": round(confidence, 4),
            "queue": queue,
            "priority": priority,
            "priority_reasons": reasons,
            "orders": numbers,
            "owned": ownership.owned,
            "ownership": ownership.per_order or {},
            "verified_by": ownership.verified_by,
            "reply_key": reply_key,
            "reply": reply,
        }, ownership.customer_id)

    def reply(self, intent: str | None, topic: str | None, unsure: bool, language: str,
              numbers: list[str], ownership: Ownership) -> tuple[str | None, str]:
        """(response name(s), text) the bot would answer first, in ``language``."""
        if unsure:
            return self._render("utter_default", language)
        if intent == "faq" and topic and f"utter_faq/{topic}" in self.replies:
            return self._render(f"utter_faq/{topic}", language)
        if intent == "request_human":
            return None, ""  # a person answers; the bot's handoff reply needs a ticket triage won't open
        if intent in SKILLS:
            if not numbers:
                return self._render("utter_ask_order_id", language)
            if ownership.owned == "unknown":
                return self._render("utter_ask_contact", language)
            first_owned = next((n for n in numbers if n in (ownership.orders or {})), None)
            if first_owned is None:
                return self._render("utter_order_not_found", language)  # same answer as unknown orders
            messages = _skill_messages(intent, ownership.orders[first_owned], language)
            return "+".join(name for name, _ in messages), self.replies.render_all(messages, language)
        return self._render(REPLY_BY_INTENT.get(intent or "", "utter_anything_else"), language)

    def _render(self, name: str, language: str) -> tuple[str, str]:
        return name, self.replies.render(name, language)
