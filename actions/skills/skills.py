"""What each skill does once its form has the order, the identity and the details.

Reads (status, delivery, refund) describe the order; writes (cancel, restore, dispute, withdraw)
run only after an explicit "yes" and announce success only when the service committed it.
Every action ends the form run by clearing its slots, whatever happened.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.orders.contacts import reference
from actions.orders.enums import ACTIVE_DISPUTE_STATES, PAID_NOT_SHIPPED, OrderStatus
from actions.orders.views import OrderView
from actions.skills import context as ctx
from actions.skills.catalogue import BY_ACTION
from actions.skills.context import ServiceUnavailable, call, service
from actions.skills.conversation import ActionHandoff
from actions.skills.followups import problem_skill, start_skill
from actions.skills.forms import (
    DISPUTE_REASONS,
    MAX_FAILURES,
    refusal_response,
    refusal_vars,
    reset_run_slots,
)
from actions.skills.localise import Localiser

logger = logging.getLogger(__name__)

# Order and dispute states, as the order service defines them (views carry the enum values).
NOT_SHIPPED = {OrderStatus.AWAITING_PAYMENT.value, *(s.value for s in PAID_NOT_SHIPPED)}
ACTIVE_DISPUTE = {s.value for s in ACTIVE_DISPUTE_STATES}


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


class SkillAction(Action, ABC):
    """Runs after a form: loads the owned order, calls ``act``, always clears the run's slots.

    Abstract (subclasses set ``action_name`` and implement ``act``): the action server registers
    only the skills, not this base."""

    action_name = ""
    needs_confirmation = False

    def name(self) -> str:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events = reset_run_slots()
        order_number = tracker.get_slot("order_id")
        if tracker.get_slot("task_blocked") or not order_number:
            if (tracker.get_slot("form_failures") or 0) >= MAX_FAILURES:
                # Repeated failures: a person takes over (ticket + pause) instead of a dead end.
                return events + await ActionHandoff().run(dispatcher, tracker, domain)
            return [*events, self.used()]  # the form already explained why it stopped
        if self.needs_confirmation and tracker.get_slot("confirmed") is not True:
            dispatcher.utter_message(response="utter_nothing_filed")
            return [*events, self.used()]
        try:
            customer = await ctx.identify(tracker)
            order = await call(service().get_order, order_number=order_number, customer_id=customer) if customer is not None else None
            if order is None:
                dispatcher.utter_message(response="utter_order_not_found", reason_code="order_not_found")
                return events
            return [*events, self.used(), *await self.act(order, customer, dispatcher, tracker)]
        except ServiceUnavailable:
            # Nothing was done: asking again is a retry of the same order, not a question about another.
            dispatcher.utter_message(response="utter_service_unavailable")
            return events

    @abstractmethod
    async def act(self, order: OrderView, customer: int, dispatcher: CollectingDispatcher,
                  tracker: Tracker) -> list[EventType]:
        raise NotImplementedError

    def used(self) -> EventType:
        """Remembers the skill, so an order number typed next ("and this one?") repeats it."""
        return SlotSet("last_skill", BY_ACTION[self.action_name].intent)


def describe_order(order: OrderView, dispatcher: CollectingDispatcher, loc: Localiser) -> None:
    variables = ctx.order_vars(order, loc)
    if order.status == "cancelled":
        dispatcher.utter_message(response=f"utter_status_cancelled_{order.cancelled_by or 'buyer'}", **variables)
    else:
        dispatcher.utter_message(response=f"utter_status_{order.status}", date=loc.day(order.delivery_confirmed_at),
                                 **variables)
    describe_tracking(order, dispatcher, loc)
    due = _aware(order.estimated_delivery)
    if order.status == "shipped" and due is not None:
        if now() < due:
            dispatcher.utter_message(response="utter_order_eta", date=loc.day(due))
        else:  # late: say so, and what to do next, as an agent would
            dispatcher.utter_message(response="utter_delivery_overdue", date=loc.day(due), **variables)
    if order.cancellation is not None and order.cancellation.status == "pending_seller":
        dispatcher.utter_message(response="utter_order_pending_cancellation",
                                 deadline=loc.when(order.cancellation.deadline),
                                 reference=order.cancellation.reference)
    if order.dispute is not None:
        dispatcher.utter_message(response=f"utter_order_dispute_{order.dispute.status}",
                                 reason=loc.label("dispute_reason", order.dispute.reason, inline=True),
                                 reference=order.dispute.reference)


def describe_tracking(order: OrderView, dispatcher: CollectingDispatcher, loc: Localiser) -> None:
    shipment = order.shipment
    if shipment is None:
        return
    if shipment.events:
        latest = shipment.events[0]
        dispatcher.utter_message(
            response="utter_order_tracking", carrier=shipment.carrier, tracking_number=shipment.tracking_number,
            event=loc.label("milestone", latest.code), event_location=loc.place(latest.location),
            event_time=loc.when(latest.at),
        )
    else:
        dispatcher.utter_message(response="utter_order_tracking_no_events", carrier=shipment.carrier,
                                 tracking_number=shipment.tracking_number)


class ActionOrderStatus(SkillAction):
    action_name = "action_order_status"

    async def act(self, order, customer, dispatcher, tracker):
        loc = ctx.localiser(tracker, order)
        describe_order(order, dispatcher, loc)
        if order.refund is not None:
            utter_refund(order, dispatcher, loc)
        return []


class ActionOrderNotReceived(SkillAction):
    """Checks the estimated date and tracking first, then advises the seller, then a dispute."""

    action_name = "action_order_not_received"

    async def act(self, order, customer, dispatcher, tracker):
        describe_delivery(order, dispatcher, ctx.localiser(tracker, order))
        return []


def describe_delivery(order: OrderView, dispatcher: CollectingDispatcher, loc: Localiser) -> None:
    variables = ctx.order_vars(order, loc)
    if order.status == "cancelled":
        dispatcher.utter_message(response="utter_delivery_cancelled", **variables)
    elif order.status in NOT_SHIPPED:
        dispatcher.utter_message(response="utter_delivery_not_shipped", **variables)
    elif order.status in {"delivered", "completed"}:
        dispatcher.utter_message(response="utter_delivery_confirmed", date=loc.day(order.delivery_confirmed_at),
                                 **variables)
    else:
        due = _aware(order.estimated_delivery)
        describe_tracking(order, dispatcher, loc)
        if due is not None and now() < due:
            dispatcher.utter_message(response="utter_delivery_not_due", date=loc.day(due), **variables)
        else:
            dispatcher.utter_message(response="utter_delivery_overdue", date=loc.day(due), **variables)


NO_REFUND = "utter_no_refund"


def waiting_for(order: OrderView) -> str:
    """What a refund question about an order without a refund is told: what the refund waits for
    (the seller's answer to the cancellation, the dispute), that nothing was paid, or that there is
    none (``NO_REFUND``)."""
    if order.cancellation is not None and order.cancellation.status == "pending_seller":
        return "utter_refund_awaiting_seller"
    if order.status == "cancelled" and order.paid_at is None:
        return "utter_refund_nothing_paid"
    if order.dispute is not None and order.dispute.status in ACTIVE_DISPUTE:
        return "utter_refund_dispute_pending"
    return NO_REFUND


def utter_refund(order: OrderView, dispatcher: CollectingDispatcher, loc: Localiser) -> None:
    refund = order.refund
    variables = ctx.order_vars(order, loc)
    if refund is None:
        # No refund yet: say what it is waiting for, as an agent would.
        response = waiting_for(order)
        if response == "utter_refund_awaiting_seller":
            variables["deadline"] = loc.when(order.cancellation.deadline)
        dispatcher.utter_message(response=response, **variables)
        return
    variables.update(amount=loc.money(refund.amount, refund.currency), currency=refund.currency)
    if refund.status == "completed":
        dispatcher.utter_message(response="utter_refund_completed", date=loc.day(refund.completed_at), **variables)
    else:
        dispatcher.utter_message(response="utter_refund_pending", expected_by=loc.day(refund.expected_by),
                                 **variables)


class ActionRefundStatus(SkillAction):
    action_name = "action_refund_status"

    async def act(self, order, customer, dispatcher, tracker):
        problem = tracker.get_slot("dispute_reason")
        if (problem in DISPUTE_REASONS and order.refund is None and order.status != "cancelled"
                and waiting_for(order) == NO_REFUND):
            # "Refund me, the parcel never came": the money comes back through the problem, so the
            # problem's skill answers (the delivery check, or the dispute), for this order, instead
            # of "there is no refund on this order".
            intent, entities = problem_skill(problem)
            return start_skill(tracker, intent, {**entities, "order_id": order.number})
        utter_refund(order, dispatcher, ctx.localiser(tracker, order))
        if order.refund is None and order.status in {"delivered", "completed"} and (
                order.dispute is None or order.dispute.status not in ACTIVE_DISPUTE):
            # A delivered order is refunded through a dispute (the guides): "no refund" alone leaves
            # a buyer with a faulty item nowhere to go, so offer one where the rules still allow it.
            result = await call(service().check_dispute, order_number=order.number, customer_id=customer)
            if result.ok:
                dispatcher.utter_message(response="utter_offer_open_dispute")
        return []


def explain_refusal(dispatcher: CollectingDispatcher, order: OrderView, code: str, data: dict[str, Any],
                    loc: Localiser) -> None:
    dispatcher.utter_message(response=refusal_response(code), reason_code=code,
                             **refusal_vars(order, data, loc))


class ActionCancelOrder(SkillAction):
    action_name = "action_cancel_order"
    needs_confirmation = True

    async def act(self, order, customer, dispatcher, tracker):
        result = await call(
            service().request_cancellation, order_number=order.number, customer_id=customer,
            reason=tracker.get_slot("cancel_reason") or "other",
            idempotency_key=ctx.idempotency_key(tracker, "cancel", order.number),
            channel=ctx.channel_name(tracker),
        )
        loc = ctx.localiser(tracker, order)
        variables = ctx.order_vars(order, loc)
        if result.code == "cancelled":
            dispatcher.utter_message(response="utter_cancelled_now", reason_code=result.code, **variables)
        elif result.code == "cancellation_requested":
            dispatcher.utter_message(
                response="utter_cancel_requested", deadline=loc.when(result.data.get("deadline")),
                reason_code=result.code, reference=reference_of(result.data, "cancellation", "request_id"),
                **variables,
            )
            return [deadline_reminder(order.number, result.data.get("deadline"))]
        else:
            explain_refusal(dispatcher, order, result.code, result.data, loc)
        return []


class ActionRestoreOrder(SkillAction):
    action_name = "action_restore_order"
    needs_confirmation = True

    async def act(self, order, customer, dispatcher, tracker):
        result = await call(
            service().resume_order, order_number=order.number, customer_id=customer,
            idempotency_key=ctx.idempotency_key(tracker, "resume", order.number),
            channel=ctx.channel_name(tracker),
        )
        loc = ctx.localiser(tracker, order)
        if result.ok:
            dispatcher.utter_message(response="utter_restored", reason_code=result.code, **ctx.order_vars(order, loc))
        else:
            explain_refusal(dispatcher, order, result.code, result.data, loc)
        return []


class ActionOpenDispute(SkillAction):
    action_name = "action_open_dispute"
    needs_confirmation = True

    async def act(self, order, customer, dispatcher, tracker):
        evidence = tracker.get_slot("dispute_evidence")
        result = await call(
            service().open_dispute, order_number=order.number, customer_id=customer,
            reason=tracker.get_slot("dispute_reason"),
            description=tracker.get_slot("dispute_description") or "",
            evidence=[] if evidence in (None, "none") else [evidence],
            idempotency_key=ctx.idempotency_key(tracker, "dispute", order.number),
            channel=ctx.channel_name(tracker),
        )
        loc = ctx.localiser(tracker, order)
        if result.ok:
            dispatcher.utter_message(response="utter_dispute_opened", reason_code=result.code,
                                     reference=reference_of(result.data, "dispute", "dispute_id"),
                                     reason=loc.label("dispute_reason", result.data.get("reason"), inline=True),
                                     **ctx.order_vars(order, loc))
        else:
            explain_refusal(dispatcher, order, result.code, result.data, loc)
        return []


class ActionWithdrawDispute(SkillAction):
    action_name = "action_withdraw_dispute"
    needs_confirmation = True

    async def act(self, order, customer, dispatcher, tracker):
        result = await call(
            service().withdraw_dispute, order_number=order.number, customer_id=customer,
            idempotency_key=ctx.idempotency_key(tracker, "withdraw", order.number),
            channel=ctx.channel_name(tracker),
        )
        reopen_until = _aware(datetime.fromisoformat(result.data["reopen_until"])) if result.data.get("reopen_until") else None
        loc = ctx.localiser(tracker, order)
        if not result.ok:
            explain_refusal(dispatcher, order, result.code, result.data, loc)
        elif reopen_until is not None and reopen_until > now():
            dispatcher.utter_message(response="utter_dispute_withdrawn", reason_code=result.code,
                                     reopen_until=loc.when(reopen_until), **ctx.order_vars(order, loc))
        else:
            dispatcher.utter_message(response="utter_dispute_withdrawn_no_reopen", reason_code=result.code,
                                     **ctx.order_vars(order, loc))
        return []


FOLLOWUP_INTENT = "EXTERNAL_cancellation_deadline"
FOLLOWUP_GRACE = timedelta(minutes=2)  # let the deadline job run first


def reference_of(data: dict[str, Any], kind: str, id_key: str) -> str:
    """The readable reference of what was filed; answers stored before references existed (an
    idempotent replay) carry only the id."""
    if data.get("reference"):
        return str(data["reference"])
    return reference(kind, int(data[id_key])) if data.get(id_key) is not None else "-"


def deadline_reminder(order_number: str, deadline: Any) -> EventType:
    """Wakes the conversation when the seller's 72 h are over, to tell the user the outcome."""
    when = datetime.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    when = (_aware(when) or now()) + FOLLOWUP_GRACE
    return ReminderScheduled(
        FOLLOWUP_INTENT, trigger_date_time=when, entities=[{"entity": "order_id", "value": order_number}],
        name=f"cancellation-deadline-{order_number}", kill_on_user_message=False,
    )


WHATSAPP_WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window


def outcome_message(order: OrderView, loc: Localiser) -> tuple[str, dict[str, Any]] | None:
    """(response, variables) that tell the buyer what became of their cancellation request."""
    if order.cancellation is None:
        return None
    variables = ctx.order_vars(order, loc)
    status = order.cancellation.status
    # Told when the seller's 72 h are over, so the message says when the seller decided.
    decided_at = loc.when(order.cancellation.decided_at)
    if status == "auto_approved" and order.refund is not None:
        return "utter_deadline_approved", {**variables, "expected_by": loc.day(order.refund.expected_by),
                                           "amount": loc.money(order.refund.amount, order.refund.currency),
                                           "currency": order.refund.currency}
    if status == "approved":
        return "utter_cancellation_approved", {**variables, "decided_at": decided_at}
    if status == "rejected":
        return "utter_cancellation_rejected", {**variables, "decided_at": decided_at}
    return None


def whatsapp_window_closed(tracker: Tracker) -> bool:
    """True on WhatsApp when the buyer's last message is more than 24 h old (or unknown): WhatsApp
    then delivers only approved templates, and a free-form message would be dropped."""
    if ctx.channel_name(tracker) != "twilio" or not str(tracker.sender_id).lower().startswith("whatsapp:"):
        return False
    messages = ctx.user_messages(tracker)
    if not messages:
        return True
    last = datetime.fromtimestamp(float(messages[-1].get("timestamp") or 0.0), tz=timezone.utc)
    return now() - last > WHATSAPP_WINDOW


def followup_template(language: str) -> str | None:
    """The approved WhatsApp template for follow-ups in ``language``, if one is configured."""
    name = (os.environ.get("WHATSAPP_FOLLOWUP_TEMPLATE") or "").strip()
    languages = {code.strip() for code in (os.environ.get("WHATSAPP_FOLLOWUP_TEMPLATE_LANGUAGES") or "").split(",")}
    return name if name and language in languages else None


class ActionCancellationFollowup(Action):
    """Tells the buyer, in their language, what became of a cancellation request after 72 h.

    On WhatsApp after the 24-hour window the message goes out as the approved template named by
    ``WHATSAPP_FOLLOWUP_TEMPLATE`` (when it is approved in the buyer's language); without one it
    is not sent, and a ticket asks a person to tell the buyer: never silently lost.
    """

    def name(self) -> str:
        return "action_cancellation_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        entities = (tracker.latest_message or {}).get("entities") or []
        order_number = next((str(e.get("value")) for e in entities if e.get("entity") == "order_id"), None)
        try:
            customer = await ctx.identify(tracker)
            if customer is None or not order_number:
                return []
            await call(service().process_deadlines)
            order = await call(service().get_order, order_number=order_number, customer_id=customer)
        except ServiceUnavailable:
            return []  # the reminder is informative only; the order itself is safe
        outcome = outcome_message(order, ctx.localiser(tracker, order)) if order is not None else None
        if outcome is None:
            return []
        response, variables = outcome
        if not whatsapp_window_closed(tracker):
            dispatcher.utter_message(response=response, **variables)
            return []
        language = ctx.language(tracker)
        template = followup_template(language)
        if template:
            # Rendered as usual (the tracker keeps the text); the Twilio channel sends it as the
            # template, with the order number and this text as its variables.
            dispatcher.utter_message(response=response, whatsapp_template=template, template_language=language,
                                     **variables)
            return []
        try:
            await call(
                service().open_ticket, customer_id=customer, language=language, intent="cancellation_followup",
                order_number=order.number,
                summary=(f"Follow-up not sent on WhatsApp: the buyer's 24-hour window has closed and no approved "
                         f"template is configured for '{language}' (WHATSAPP_FOLLOWUP_TEMPLATE). Please tell the "
                         f"buyer: {response.removeprefix('utter_')} for order {order.number}."),
                idempotency_key=f"{tracker.sender_id}:followup:{order.number}:{response}",
                channel=ctx.channel_name(tracker),
            )
        except ServiceUnavailable:
            logger.error("follow-up for order %s in conversation %s neither sent nor ticketed",
                         order.number, tracker.sender_id)
        return []
