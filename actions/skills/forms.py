"""Form validation for every skill: which order, who is asking, is it allowed, the details.

All seven forms start the same way: ``order_id`` (buttons with the customer's recent orders when
we know who they are), then ``contact`` (account e-mail or phone) only when the customer is not
identified by their channel or a website token. The order is then checked against the rules of
the skill; a refusal is explained and ends the form (``task_blocked``), so the user is never
asked details for something that cannot be done. Unknown orders and other people's orders get
the same neutral answer. After three failed answers the form stops and offers a human.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.orders.contacts import could_be_contact
from actions.orders.enums import CancellationReason, DisputeReason, values
from actions.orders.rules import REFUSALS, Code
from actions.orders.views import OrderView
from actions.skills import context as ctx
from actions.skills import ratelimit
from actions.skills.catalogue import (
    BY_FORM,
    BY_INTENT,
    REASON_GUESS,
    asks_when,
    fold,
    is_question,
    names_another_order,
    refuses,
    tokens,
)
from actions.skills.context import ServiceUnavailable, call, service
from actions.skills.localise import Localiser

MAX_FAILURES = 3
# The questions at which a request for another skill switches to it, and how sure the NLU must be.
SWITCHABLE_QUESTIONS = ("order_id", "contact", "confirmed")
SWITCH_MIN_CONFIDENCE = 0.6
# At "which order?", a complaint read without the words of a problem (no dispute_reason found) is
# most often the item named to say which order ("ni zile earphones za bluetooth", "the blue
# dress"): product words pull the classifier toward a complaint. It switches only when sure.
ITEM_OR_COMPLAINT_INTENTS = frozenset({"open_dispute", "order_not_received"})
ITEM_OR_COMPLAINT_MIN_CONFIDENCE = 0.85
FALLBACK_INTENT = "nlu_fallback"
CANCEL_REASONS = tuple(values(CancellationReason))  # one home: the order service's enums
DISPUTE_REASONS = tuple(values(DisputeReason))
# Free-text answers that name a reason without the NLU tagging it (folded, any language).
REASON_KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "cancel_reason": {
        "no_longer_needed": ("no longer", "dont need", "don't need", "not need", "plus besoin",
                             "pas besoin", "sihitaji", "sitaki", "changed my mind", "change d'avis",
                             "change d avis", "change davis", "badilisha mawazo", "dont want", "don't want",
                             "no need", "veux plus", "en ai plus", "sina haja", "haihitajiki"),
        "wrong_item_ordered": ("wrong size", "wrong colo", "mauvaise taille", "couleur", "saizi",
                               "rangi", "mistake", "erreur", "makosa"),
        "found_cheaper": ("cheaper", "moins cher", "bei nafuu", "rahisi zaidi"),
        "delivery_too_slow": ("too long", "trop long", "slow", "lent", "inachelewa", "muda mrefu"),
        "seller_issue": ("seller", "vendeur", "muuzaji"),
    },
    "dispute_reason": {
        "wrong_tracking": ("tracking", "suivi", "ufuatiliaji"),
        "not_received": ("not received", "never arrived", "pas recu", "jamais recu", "sijapokea",
                         "haijafika", "late", "retard"),
        "damaged": ("damaged", "broken", "casse", "abime", "imeharibika", "imevunjika"),
        "wrong_item": ("wrong item", "wrong product", "mauvais article", "mauvais produit",
                       "kitu tofauti"),
        "not_as_described": ("not as described", "different from", "pas conforme", "description",
                             "si kama"),
        "bad_quality": ("quality", "qualite", "ubora", "fake", "contrefa"),
    },
}
# A keyword of four letters or fewer is a whole word ("lent" is slow, "excellent" is not; "late" is
# not "latest"); a longer one may sit anywhere, for stems and Swahili verb forms ("casse" in
# "cassée", "badilisha mawazo" in "nimebadilisha mawazo").
KEYWORD_PATTERNS = {
    kind: {code: re.compile("|".join(rf"\b{re.escape(k)}\b" if len(k) <= 4 else re.escape(k) for k in keywords))
           for code, keywords in codes.items()}
    for kind, codes in REASON_KEYWORDS.items()
}
TASK_FORMS = {
    "status_form": "status",
    "delivery_form": "delivery",
    "refund_form": "refund",
    "cancel_form": "cancel",
    "restore_form": "restore",
    "dispute_form": "dispute",
    "withdraw_form": "withdraw",
}
# Slots a form run fills; they are cleared when the run ends, whatever the outcome.
RUN_SLOTS = ("contact", "cancel_reason", "dispute_reason", "dispute_description",
             "dispute_evidence", "confirmed", "task_blocked", "form_failures")


REASON_CODES = {"cancel_reason": CANCEL_REASONS, "dispute_reason": DISPUTE_REASONS}


def reason_from_text(kind: str, text: Any) -> str | None:
    """Canonical reason code for a typed answer, or None when it names no reason we know."""
    value = str(text or "").strip()
    if value in CANCEL_REASONS + DISPUTE_REASONS:
        return value
    folded = fold(value)
    for code, pattern in KEYWORD_PATTERNS[kind].items():
        if pattern.search(folded):
            return code
    return None


def reason_guess(tracker: Tracker, kind: str) -> str | None:
    """The NLU's reading of the whole latest message as a reason code, if it made one."""
    guess = ((tracker.latest_message or {}).get(REASON_GUESS) or {}).get(kind)
    return guess if guess in REASON_CODES[kind] else None


def message_reason(tracker: Tracker, kind: str) -> str | None:
    """The reason code the NLU read in the latest message: a reason entity it mapped to a code,
    else its reading of the whole message (a reason said in words no entity covered)."""
    for found in reversed((tracker.latest_message or {}).get("entities") or []):
        if found.get("entity") == kind and found.get("value") in REASON_CODES[kind]:
            return found["value"]
    return reason_guess(tracker, kind)


def reason_from_message(tracker: Tracker, kind: str) -> dict[str, Any]:
    """Fills an empty reason slot from the NLU's reading of the whole message: a complaint that
    opens the form ("my phone came with the screen smashed") or a reason said beside an order
    number, in words no entity covered. The form's validator then checks it like any answer."""
    guess = reason_guess(tracker, kind) if tracker.get_slot(kind) is None else None
    return {kind: guess} if guess else {}


def asks_why(tracker: Tracker) -> bool:
    """ "Why?", "what for?" typed at a question (intent explain): answered by why it is asked."""
    return ctx.latest_intent(tracker)[0] == "explain"


def bare_yes(tracker: Tracker) -> bool:
    """ "yes", "oui", "ndio" where the form asked for words (a reason, a description): the buyer
    agrees to go on, but has not said the reason or described the problem yet."""
    return ctx.latest_intent(tracker)[0] == "affirm" and not (tracker.latest_message or {}).get("entities")


def reason_code(tracker: Tracker, kind: str, value: Any) -> str | None:
    """The code of a reason answer: a code itself (a button), what the NLU read, else a keyword."""
    text = str(value or "").strip()
    if text in REASON_CODES[kind]:
        return text
    return message_reason(tracker, kind) or reason_from_text(kind, text)


FIND_ORDER_NUMBER = "utter_faq/find_order_number"  # where the number is (the FAQ topic's answer)
SERVICE_RESPONSES = {Code.ORDER_NOT_FOUND: "utter_order_not_found", Code.INVALID_ORDER_NUMBER: "utter_invalid_order_id"}


def refusal_response(code: str) -> str:
    """The response that explains a refusal: one per rule code (``rules.REFUSALS``), each in three
    languages (tests/unit/test_domain.py), and one for a request the service could not take."""
    if code in SERVICE_RESPONSES:
        return SERVICE_RESPONSES[code]
    return f"utter_refuse_{code}" if code in REFUSALS else "utter_refuse_invalid_request"


def value_before_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the user's latest message changed it."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


# Bot turns after which an earlier e-mail/phone is spent: it was asked for (an answer, checked then),
# or a verification has run since (it matched, or it did not and must not be tried again unasked).
CONTACT_TURNS = frozenset({"utter_ask_contact", "utter_verified", "utter_order_not_found"})


def volunteered_contact(tracker: Tracker) -> Any:
    """An e-mail/phone the user typed earlier in this session without being asked ("hello, my email
    is ..."), not yet checked: used once, with the order number that comes next. A sign-out starts a
    new session, so nothing typed before it is used."""
    events = tracker.events
    last_user = max((i for i, event in enumerate(events) if event.get("event") == "user"), default=0)
    candidate = None
    for event in reversed(events[:last_user]):
        kind = event.get("event")
        said = (event.get("metadata") or {}).get("utter_action") if kind == "bot" else None
        if candidate is None:
            if kind == "session_started" or said in CONTACT_TURNS:
                return None  # nothing since the session started, or spent
            if kind == "user":
                candidate = entity_value(event.get("parse_data"), "contact") or None
        elif kind in ("bot", "user", "session_started"):
            # What came before the message that gave it: the contact question makes it an answer.
            return None if said == "utter_ask_contact" else candidate
    return candidate


OWN_ORDERS_SEARCHED = 50
ITEM_WORD_MIN_LETTERS = 4  # "tent", "scarf", "robe"; not "the", "one", "la", "ya"


def pick_own_order(text: str, orders: list[Any]) -> str | None:
    """The one order of ``orders`` a reply names by its last digits (three or more) or by words of
    its item; None when it names none or several."""
    tails = re.findall(r"\d{3,}", text)
    if tails:
        found = [order.number for order in orders if order.number.endswith(tails[-1])]
        return found[0] if len(found) == 1 else None
    said = {word for word in tokens(text) if len(word) >= ITEM_WORD_MIN_LETTERS}
    scores = [(len(said & set(tokens(order.first_item))), order.number) for order in orders]
    best = max((score for score, _ in scores), default=0)
    found = [number for score, number in scores if score == best]
    return found[0] if best and len(found) == 1 else None


def rejected_order_number(tracker: Tracker) -> str | None:
    """The order number the bot's last answer could not match with the e-mail/phone given ("check
    both and try again"), if that was its last answer: the number typed in the message it answered,
    else the one the form held then."""
    events = tracker.events
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(users) < 2:
        return None
    answered, latest = users[-2], users[-1]
    if not any((event.get("metadata") or {}).get("utter_action") == "utter_order_not_found"
               for event in events[answered:latest] if event.get("event") == "bot"):
        return None
    typed = entity_value(events[answered].get("parse_data"), "order_id")
    held = next((event.get("value") for event in reversed(events[:answered])
                 if event.get("event") == "slot" and event.get("name") == "order_id"), None)
    number = ctx.normalise_order_number(typed or held)
    return number if ctx.plausible_order_number(number) else None


def entity_value(parse_data: dict[str, Any] | None, entity: str) -> Any:
    """The value of the first ``entity`` the NLU found in a message (its parse data)."""
    for found in (parse_data or {}).get("entities") or []:
        if found.get("entity") == entity:
            return found.get("value")
    return None


def message_entity(tracker: Tracker, entity: str) -> Any:
    return entity_value(tracker.latest_message, entity)


def refusal(dispatcher: CollectingDispatcher, code: str, **variables: Any) -> dict[str, Any]:
    """Explain why the skill cannot go on for this order, and end the form run."""
    dispatcher.utter_message(response=refusal_response(code), reason_code=code, **variables)
    return {"task_blocked": True}


class OrderFormValidator(FormValidationAction, ABC):
    """Shared by all skill forms; subclasses set ``form`` and add ``check_order`` and detail validators.

    Abstract (no ``form``), so the action server does not register the base itself as an action."""

    @property
    @abstractmethod
    def form(self) -> str:
        """The form this validates, e.g. ``"cancel_form"``."""

    def name(self) -> str:
        return f"validate_{self.form}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("task_blocked"):
            return []
        # `contact` (e-mail/phone) is asked only of someone no channel, valid token or current
        # verification identifies, checked again at every message.
        slots = [slot for slot in domain_slots if slot != "contact"]
        if await self.identified(tracker) is None:
            slots.insert(slots.index("order_id") + 1, "contact")
        return slots

    @staticmethod
    async def identified(tracker: Tracker) -> int | None:
        try:
            return await ctx.identify(tracker)
        except ServiceUnavailable:
            return None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        other = await self.other_skill(tracker)
        if other is not None:
            # "Actually, I want to cancel it instead" at one of this form's questions: this run
            # ends with nothing filed and the other skill's form starts, on the same order.
            events = [ActiveLoop(None), SlotSet("requested_slot", None), *clear_run_slots(tracker)]
            if tracker.get_slot("requested_slot") == "order_id":  # the message, read as the answer
                number = ctx.normalise_order_number(message_entity(tracker, "order_id"))
                events.append(SlotSet("order_id", number if ctx.plausible_order_number(number) else None))
            return [*events, FollowupAction(other.form)]
        if self.asked_again(tracker):
            # The same question again about "the other order", without its number: ask which,
            # instead of answering about the last one again.
            return [SlotSet("order_id", None)]
        if tracker.get_slot("contact") == "verified" and await self.identified(tracker) is None:
            # The verification ran out in the middle of the form (time, session, sign-out): the
            # e-mail/phone question is asked again instead of going on as nobody.
            tracker.slots["contact"] = None
            return [SlotSet("contact", None), *await super().run(dispatcher, tracker, domain)]
        return await super().run(dispatcher, tracker, domain)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Slots emptied since the user's message (the form run a switch of skill ended cleared
        what it had asked) are no answers: validating them would make one up from nothing (an
        empty order number, reason "other", a "no")."""
        candidates = tracker.slots_to_validate()
        if any(value is None for value in candidates.values()):
            answers = {name: value for name, value in candidates.items() if value is not None}
            tracker.slots_to_validate = lambda: dict(answers)  # how rasa-sdk reads the candidates
        return await super().get_validation_events(dispatcher, tracker, domain)

    async def other_skill(self, tracker: Tracker) -> Any:
        """The other skill the user asks for instead of answering this form's question (which
        order, who is asking, shall I), when the NLU is sure of it; None otherwise. Free-text
        answers (a reason, a description) are not read this way: "it never arrived" describes a
        dispute, it does not ask for the delivery check."""
        asked = tracker.get_slot("requested_slot")
        if asked not in SWITCHABLE_QUESTIONS or self.activating(tracker):
            return None
        name, confidence = ctx.latest_intent(tracker)
        other = BY_INTENT.get(name)
        own = BY_FORM.get(self.form)
        if other is None or other == own or confidence < SWITCH_MIN_CONFIDENCE:
            return None
        if asked == "contact" and message_entity(tracker, "contact"):
            return None  # the answer, with words around it
        if says_no_to_confirmation(tracker):
            return None  # "nah don't cancel it, I'll keep it" read as the restore: the no
        if asked == "order_id" and name in ITEM_OR_COMPLAINT_INTENTS \
                and confidence < ITEM_OR_COMPLAINT_MIN_CONFIDENCE and message_entity(tracker, "dispute_reason") is None:
            return None  # an item named, not a problem stated: where to find the number
        if asked == "order_id" and message_entity(tracker, "order_id") is None \
                and await self.named_own_order((tracker.latest_message or {}).get("text"), tracker):
            return None  # "c'est la montre": an item of one's orders, whatever the NLU made of it
        return other

    def asked_again(self, tracker: Tracker) -> bool:
        skill = BY_FORM.get(self.form)
        message = tracker.latest_message or {}
        if skill is None or tracker.get_slot("last_skill") != skill.intent:
            return False
        if ctx.latest_intent(tracker)[0] != skill.intent or message_entity(tracker, "order_id"):
            return False
        if not (names_another_order(message.get("text")) or self.repeated_request(tracker)):
            return False  # "when will it arrive?" after a status answer: the same order
        return self.activating(tracker)

    def activating(self, tracker: Tracker) -> bool:
        """The form is being activated: it has asked nothing yet in this run."""
        return (tracker.active_loop or {}).get("name") != self.form or tracker.get_slot("requested_slot") is None

    @staticmethod
    def repeated_request(tracker: Tracker) -> bool:
        """The request that started the last run, said again word for word ("where is my refund?"
        twice): the user starts over, for another order; a new question is a follow-up."""
        def words(text: Any) -> list[str]:  # numbers count: "where is 8170...06" is another request
            return re.findall(r"\w+", fold(str(text or "")))

        said = words((tracker.latest_message or {}).get("text"))
        earlier = [event for event in tracker.events if event.get("event") == "user"][:-1]
        return bool(said) and any(words(event.get("text")) == said for event in earlier)

    def failed(self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]) -> dict[str, Any]:
        failures = (tracker.get_slot("form_failures") or 0) + 1
        slots["form_failures"] = failures
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(response="utter_too_many_attempts")
            slots["task_blocked"] = True
        return slots

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = ctx.normalise_order_number(value)
        if not ctx.plausible_order_number(digits):
            digits = await self.named_own_order(value, tracker) or digits
        if not ctx.plausible_order_number(digits) and message_entity(tracker, "contact"):
            # An e-mail/phone where the order number was asked: the other half of the pair.
            return await self.contact_instead(dispatcher, tracker)
        if not ctx.plausible_order_number(digits):
            # No digit at all ("sijui", "the blue dress"): the buyer does not have the number at
            # hand, so say where to find it rather than that this is not one.
            has_digits = any(ch.isdigit() for ch in str(value or ""))
            dispatcher.utter_message(response="utter_invalid_order_id" if has_digits else FIND_ORDER_NUMBER)
            return self.failed(dispatcher, tracker, {"order_id": None})
        if ratelimit.refused(tracker, dispatcher):  # too many failed verifications: cooldown
            return {"order_id": None, "task_blocked": True}
        try:
            customer = await ctx.identify(tracker)
            if customer is None:
                contact = message_entity(tracker, "contact") or volunteered_contact(tracker)
                if contact and tracker.get_slot("requested_slot") != "contact":
                    # The number and the e-mail/phone in one message ("order 8170..., my email is
                    # ..."), or the e-mail/phone said just before ("hello, my email is ..."):
                    # checked together, instead of asking for what was just given.
                    verified = await self.verify_contact(digits, str(contact).strip()[:200], dispatcher, tracker)
                    return {"order_id": digits, **verified}
                return {"order_id": digits}  # who is asking is checked with `contact`
            # Not remembered: a token or a channel identity is checked again at every message.
            return await self.check_owned(digits, customer, dispatcher, tracker, {"order_id": digits})
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {"order_id": digits, "task_blocked": True}

    async def named_own_order(self, value: Any, tracker: Tracker) -> str | None:
        """A signed-in (or verified) customer's order named without its full number, as people
        answer a list: "the one ending in 0003", "the camping tent". Only their own orders are
        searched, so nothing is revealed; anyone else gets the usual answer."""
        try:
            customer = await ctx.identify(tracker)
            orders = await call(service().list_orders, customer_id=customer, limit=OWN_ORDERS_SEARCHED) \
                if customer is not None else []
        except ServiceUnavailable:
            return None
        return pick_own_order(str(value or ""), orders)

    async def contact_instead(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """After "no order matches that number and those details", an e-mail/phone alone corrects
        the contact ("sorry, it's oliver.smith@..."): it is checked with the number just rejected,
        under the same rate limits. Before any number, it is kept for the number that comes next
        (``volunteered_contact``) and the number is asked for again: not a failed answer."""
        number = rejected_order_number(tracker)
        if number is None or await self.identified(tracker) is not None:
            return {"order_id": None}
        contact = str(message_entity(tracker, "contact")).strip()[:200]
        return {"order_id": number, **await self.verify_contact(number, contact, dispatcher, tracker)}

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        order_number = tracker.get_slot("order_id")
        contact = str(value or "").strip()[:200]
        if not contact or (message_entity(tracker, "order_id") and not message_entity(tracker, "contact")):
            # Nothing typed, or another order number instead of the contact: that number is the
            # order now (the order_id slot took it), and the contact is asked for it.
            return {"contact": None}
        if not could_be_contact(contact):
            # Words where the e-mail/phone was asked ("the item is broken"): not a verification
            # attempt, so neither "not found" (which would drop the order number) nor a failure.
            dispatcher.utter_message(response="utter_contact_not_recognised")
            return {"contact": None}
        return await self.verify_contact(order_number, contact, dispatcher, tracker)

    async def verify_contact(
        self, order_number: str, contact: str, dispatcher: CollectingDispatcher, tracker: Tracker,
    ) -> dict[str, Any]:
        """Does this e-mail/phone own this order? Rate-limited; remembered for the session when it does."""
        if ratelimit.refused(tracker, dispatcher, contact=contact, order_number=order_number):
            return {"contact": None, "order_id": None, "task_blocked": True}
        try:
            customer = await call(service().verify_owner, order_number=order_number, contact=contact) if contact else None
            if customer is None:
                ratelimit.failed(tracker, contact=contact, order_number=order_number)
                dispatcher.utter_message(response="utter_order_not_found", reason_code="order_not_found")
                return self.failed(dispatcher, tracker, {"contact": None, "order_id": None})
            dispatcher.utter_message(response="utter_verified")
            # Remembered for this session, this channel, this sign-in state and VERIFICATION_TTL_SECONDS.
            slots = {"contact": "verified", ctx.VERIFICATION_SLOT: ctx.verification(tracker, customer)}
            return await self.check_owned(order_number, customer, dispatcher, tracker, slots)
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {"contact": None, "task_blocked": True}

    async def check_owned(
        self, order_number: str, customer: int, dispatcher: CollectingDispatcher,
        tracker: Tracker, slots: dict[str, Any],
    ) -> dict[str, Any]:
        order = await call(service().get_order, order_number=order_number, customer_id=customer)
        if order is None:
            ratelimit.failed(tracker)
            dispatcher.utter_message(response="utter_order_not_found", reason_code="order_not_found")
            slots.update({"order_id": None, "contact": None})
            return self.failed(dispatcher, tracker, slots)
        slots.update(await self.check_order(order, customer, dispatcher, tracker))
        return slots

    async def check_order(
        self, order: Any, customer: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Skill-specific eligibility; lookups accept any order the customer owns."""
        return {}

    async def extract_confirmed(self, dispatcher, tracker, domain) -> dict[str, Any]:
        """ "Yes, cancel it", "oui, annulez-la", "ndio, ighairi oda hiyo" at "Shall I cancel ...?":
        the skill asked for again is a yes (the NLU reads the request, or is torn between the two).
        Only at that question, only when no plain yes or no was read, and never when the message
        refuses (``refuses``): a refusal the NLU also reads as a no is a no, whatever came first."""
        skill = BY_FORM.get(self.form)
        if skill is None or tracker.get_slot("requested_slot") != "confirmed":
            return {}
        if says_no_to_confirmation(tracker):
            return {"confirmed": False}
        if tracker.get_slot("confirmed") is not None:
            return {}
        if message_entity(tracker, "order_id"):
            return {}  # "yes, cancel 8170...": which order the yes is for is asked again, not assumed
        if refuses((tracker.latest_message or {}).get("text")):
            return {}  # never a yes: the question stands
        intent = ctx.latest_intent(tracker)[0]
        if intent == skill.intent or (intent == FALLBACK_INTENT and set(readings(tracker)[:2]) == {"affirm", skill.intent}):
            return {"confirmed": True}
        return {}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"confirmed": bool(value)}


class ValidateStatusForm(OrderFormValidator):
    form = "status_form"


class ValidateDeliveryForm(OrderFormValidator):
    form = "delivery_form"


class ValidateRefundForm(OrderFormValidator):
    form = "refund_form"


class ValidateCancelForm(OrderFormValidator):
    form = "cancel_form"

    async def check_order(self, order, customer, dispatcher, tracker):
        result = await call(service().check_cancellation, order_number=order.number, customer_id=customer)
        if result.ok:
            return {}
        return refusal(dispatcher, result.code, **refusal_vars(order, result.data, ctx.localiser(tracker, order)))

    async def extract_cancel_reason(self, dispatcher, tracker, domain):
        found = reason_from_message(tracker, "cancel_reason")
        if found or tracker.get_slot("cancel_reason") is not None or not self.activating(tracker):
            return found
        # The request that opens the form, with its reason in words the NLU did not tag ("annulez,
        # j'ai trouvé moins cher ailleurs"): the keywords, except "seller", which a request names
        # without complaining of one ("cancel my order from this seller").
        code = reason_from_text("cancel_reason", (tracker.latest_message or {}).get("text"))
        return {"cancel_reason": code} if code and code != "seller_issue" else {}

    async def validate_cancel_reason(self, value, dispatcher, tracker, domain):
        code = reason_code(tracker, "cancel_reason", value)
        if code is None and asks_why(tracker):
            dispatcher.utter_message(response="utter_why_cancel_reason")
            return {"cancel_reason": None}  # the form asks again; not a failed answer
        if code is None and bare_yes(tracker):
            return self.failed(dispatcher, tracker, {"cancel_reason": None})  # asked again, with its buttons
        # A reason we cannot classify is still the user's reason: file it as "other".
        return {"cancel_reason": code or "other"}


class ValidateRestoreForm(OrderFormValidator):
    form = "restore_form"

    async def check_order(self, order, customer, dispatcher, tracker):
        result = await call(service().check_resume, order_number=order.number, customer_id=customer)
        if result.ok:
            return {}
        return refusal(dispatcher, result.code, **refusal_vars(order, result.data, ctx.localiser(tracker, order)))


class ValidateDisputeForm(OrderFormValidator):
    form = "dispute_form"

    async def check_order(self, order, customer, dispatcher, tracker):
        # The reason is usually asked after the order: until then only the rules that do not
        # depend on it apply (a dispute button may have given it already).
        reason = tracker.get_slot("dispute_reason")
        result = await call(
            service().check_dispute, order_number=order.number, customer_id=customer,
            reason=reason if reason in DISPUTE_REASONS else None,
        )
        loc = ctx.localiser(tracker, order)
        if not result.ok:
            return refusal(dispatcher, result.code, **refusal_vars(order, result.data, loc))
        outcome = result.data.get("resolved_outcome")
        if outcome and reason not in DISPUTE_REASONS:
            # A decided dispute is final for its problem; say so before asking which problem it is.
            dispatcher.utter_message(response=f"utter_dispute_decided_{outcome}", **ctx.order_vars(order, loc))
        return {}

    async def extract_dispute_reason(self, dispatcher, tracker, domain):
        found = reason_from_message(tracker, "dispute_reason")
        if found or tracker.get_slot("dispute_reason") is not None or not self.activating(tracker):
            return found
        if tracker.get_slot("last_skill") == "order_not_received" and tracker.get_slot("order_id") \
                and not message_entity(tracker, "order_id"):
            # "Then open a dispute" right after the answer about a parcel that has not come, on
            # that order: the problem is that it has not come (what the answer's button files).
            return {"dispute_reason": "not_received"}
        return {}

    async def validate_dispute_reason(self, value, dispatcher, tracker, domain):
        code = reason_code(tracker, "dispute_reason", value)
        given = value_before_message(tracker, "dispute_reason")
        if given in DISPUTE_REASONS and tracker.get_slot("requested_slot") not in (None, "dispute_reason"):
            # Words of a later answer (the description: "the tracking has not moved") read as a
            # reason: the reason the buyer chose stands.
            return {"dispute_reason": given}
        if code is None:
            if tracker.get_slot("requested_slot") != "dispute_reason":
                return {"dispute_reason": None}  # not an answer to the question: just ask it
            if asks_why(tracker):
                dispatcher.utter_message(response="utter_why_dispute_reason")
                return {"dispute_reason": None}
            dispatcher.utter_message(response="utter_default")
            return self.failed(dispatcher, tracker, {"dispute_reason": None})
        customer = await ctx.identify(tracker)
        order_number = tracker.get_slot("order_id")
        if customer is not None and order_number:
            try:
                result = await call(service().check_dispute, order_number=order_number, customer_id=customer, reason=code)
            except ServiceUnavailable:
                dispatcher.utter_message(response="utter_service_unavailable")
                return {"dispute_reason": code, "task_blocked": True}
            if not result.ok:
                order = await call(service().get_order, order_number=order_number, customer_id=customer)
                variables = refusal_vars(order, result.data, ctx.localiser(tracker, order))
                return {"dispute_reason": code, **refusal(dispatcher, result.code, **variables)}
        return {"dispute_reason": code}

    async def validate_dispute_description(self, value, dispatcher, tracker, domain):
        text = re.sub(r"\s+", " ", str(value or "")).strip()
        if answered_aside(dispatcher, tracker):
            return {"dispute_description": None}  # answered; the form asks again
        if len(text) < 3 or bare_yes(tracker):
            return self.failed(dispatcher, tracker, {"dispute_description": None})  # the form asks again
        return {"dispute_description": text[:1000]}

    async def validate_dispute_evidence(self, value, dispatcher, tracker, domain):
        text = re.sub(r"\s+", " ", str(value or "")).strip()
        if answered_aside(dispatcher, tracker):
            return {"dispute_evidence": None}
        return {"dispute_evidence": text[:500] or "none"}


def readings(tracker: Tracker) -> list[str]:
    """The intents the NLU read in the latest message, likeliest first, without the fallback's."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    return [entry.get("name") for entry in ranking if entry.get("name") != FALLBACK_INTENT]


def says_no_to_confirmation(tracker: Tracker) -> bool:
    """At "Shall I ...?", a message that refuses (``refuses``: "nah don't cancel it after all", "non
    attendez, annulez rien", "hapana usighairi") and that the NLU also reads as a no, among its three
    likeliest readings: a no, whatever came first (the restore, the cancellation itself, a yes)."""
    if tracker.get_slot("requested_slot") != "confirmed":
        return False
    return refuses((tracker.latest_message or {}).get("text")) and "deny" in readings(tracker)[:3]


# A question asked at the dispute's free-text questions is not the description or the evidence:
# "when will I be refunded?", "do I need photos?". Only a clear reading, asked as a question: a
# description often reads as a complaint or as wanting the money back ("can I get a full refund?"
# is an expectation), so a refund question must ask when.
SIDE_QUESTION_CONFIDENCE = {"faq": 0.5, "refund_status": 0.6}
# Readings that are both questions about the rules or the bot's question, never an answer to it:
# "what kind of proof do you need?" is split between the two, and together they are clear.
QUESTION_INTENTS = ("faq", "explain")


def side_question(tracker: Tracker) -> str | None:
    """The response that answers a side question typed at a free-text question, or None."""
    message = tracker.latest_message or {}
    name, confidence = ctx.latest_intent(tracker)
    if name == "faq":
        confidence = sum(float(entry.get("confidence") or 0.0) for entry in message.get("intent_ranking") or []
                         if entry.get("name") in QUESTION_INTENTS) or confidence
    if name not in SIDE_QUESTION_CONFIDENCE or confidence < SIDE_QUESTION_CONFIDENCE[name] \
            or not is_question(message.get("text")):
        return None
    if name == "refund_status":
        return "utter_refund_with_dispute" if asks_when(message.get("text")) else None
    topic = ctx.faq_topic(tracker) if name == "faq" else None
    return f"utter_faq/{topic}" if topic else None


def answered_aside(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answers the latest message if it is a side question (``side_question``); False if it is not."""
    answer = side_question(tracker)
    if answer:
        dispatcher.utter_message(response=answer)
    return answer is not None


class ValidateWithdrawForm(OrderFormValidator):
    form = "withdraw_form"

    async def check_order(self, order, customer, dispatcher, tracker):
        result = await call(service().check_withdraw_dispute, order_number=order.number, customer_id=customer)
        if result.ok:
            return {}
        return refusal(dispatcher, result.code, **refusal_vars(order, result.data, ctx.localiser(tracker, order)))


# The date a refusal is about, first found: the delivery date, the protection or reopening limit.
REFUSAL_DATES = ("estimated_delivery", "available_from", "protection_end", "reopen_until", "date")


def refusal_vars(order: OrderView | None, data: dict[str, Any], loc: Localiser) -> dict[str, Any]:
    """What every refusal response may say: the order, the date the rule is about, the pending
    request's deadline and reference (``date``, ``deadline``, ``reference``)."""
    variables = ctx.order_vars(order, loc) if order is not None else {}
    when = next((data[key] for key in REFUSAL_DATES if data.get(key)), None)
    if when is None and order is not None:
        when = order.estimated_delivery or order.protection_end
    pending = order.cancellation if order is not None else None
    variables["date"] = loc.day(when)
    variables["deadline"] = loc.when(data.get("deadline") or (pending.deadline if pending else None))
    variables["reference"] = data.get("reference") or (pending.reference if pending else "-")
    return variables


class ActionAskOrderId(Action):
    """Asks which order; offers the customer's recent orders as buttons when we know them."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            customer = await ctx.identify(tracker)
            orders = await call(service().list_orders, customer_id=customer, limit=5) if customer is not None else []
        except ServiceUnavailable:
            orders = []
        if not orders:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        buttons = [
            {
                "title": f"{o.number} · {o.first_item[:40]}",
                "payload": f'/inform{{"order_id": "{o.number}"}}',
            }
            for o in orders
        ]
        dispatcher.utter_message(response="utter_choose_order", buttons=buttons)
        return []


def reset_run_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in RUN_SLOTS]


def clear_run_slots(tracker: Tracker, keep: Any = ()) -> list[EventType]:
    """Clears what the last run filled before another form starts in the same turn. Only slots that
    hold a value: the starting form validates every slot set since the user's message as a
    candidate answer, so clearing an empty one would read as an empty answer."""
    return [SlotSet(slot, None) for slot in RUN_SLOTS if tracker.get_slot(slot) not in (None, 0, 0.0) and slot not in keep]
