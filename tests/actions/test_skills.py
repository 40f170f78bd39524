"""The custom actions on a real (temporary, seeded) order database.

Each test builds the tracker a conversation would send to the action server and checks what the
user is told and what the database holds afterwards.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import actions.orders as orders
from actions.identity import TokenSettings, issue_token
from actions.orders.db import make_engine, session_factory
from actions.orders.demo import seed
from actions.orders.models import CancellationRequest, Dispute, Order, SupportTicket
from actions.orders.schema import migrate
from actions.orders.service import OrderService
from actions.skills.context import identify
from actions.skills.conversation import ActionHandoff
from actions.skills.forms import ValidateCancelForm, ValidateStatusForm
from actions.skills.skills import (
    ActionCancellationFollowup,
    ActionCancelOrder,
    ActionOpenDispute,
    ActionOrderStatus,
    ActionRefundStatus,
    ActionRestoreOrder,
)

AMINA, WANJIKU, OLIVER = "81700345", "81700512", "81700877"


def order(prefix: str, scenario: int) -> str:
    return f"{prefix}000000{scenario:02d}"


@pytest.fixture()
def factory(tmp_path):
    url = f"sqlite:///{tmp_path}/orders.db"
    migrate(url)
    made = session_factory(make_engine(url))
    seed(made)
    return made


@pytest.fixture()
def service(factory, monkeypatch):
    svc = OrderService(factory)
    monkeypatch.setattr(orders, "_service", svc)
    monkeypatch.setenv("AUTH_JWT_SECRET", "test-secret-0123456789abcdef0123456789")
    return svc


def customer_id(service: OrderService, number: str) -> int:
    email = {AMINA: "amina.diallo@example.com", WANJIKU: "wanjiku.kamau@example.co.ke",
             OLIVER: "oliver.smith@example.co.uk"}[number[:8]]
    found = service.verify_owner(order_number=number, contact=email)
    assert found is not None
    return found


def verified(customer: int, channel: str = "rest") -> dict[str, Any]:
    """The ``customer_id`` slot after an e-mail/phone verification just now, in an anonymous REST message."""
    return {"customer": customer, "at": time.time(), "channel": channel, "sign_in": ""}


def tracker(slots: dict[str, Any] | None = None, channel: str = "rest", sender: str = "conv-1",
            metadata: dict | None = None, active_loop: str | None = None) -> Tracker:
    user_event = {"event": "user", "text": "hi", "input_channel": channel, "metadata": metadata or {},
                  "parse_data": {"intent": {"name": "cancel_order"}}, "timestamp": 1.0}
    events = [user_event]
    if active_loop:
        events.insert(0, {"event": "active_loop", "name": active_loop, "timestamp": 0.5})
    return Tracker(sender, {"language": "en", **(slots or {})}, {"intent": {"name": "inform"}}, events,
                   False, None, {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, track: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {}))
    return dispatcher.messages, events


def responses(messages: list[dict]) -> list[str]:
    return [m.get("response") for m in messages]


def rows_for(factory, model, number: str) -> int:
    """Rows of ``model`` that belong to order ``number`` (the test inspects the real tables)."""
    with factory() as session:
        query = select(func.count()).select_from(model).join(Order, model.order_id == Order.id)
        return session.execute(query.where(Order.number == number)).scalar_one()


def validate(validator, slot: str, value: Any, track: Tracker) -> tuple[list[dict], dict]:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(getattr(validator, f"validate_{slot}")(value, dispatcher, track, {}))
    return dispatcher.messages, result


def test_status_of_a_shipped_order_shows_tracking(service):
    number = order(OLIVER, 6)
    messages, _ = run(ActionOrderStatus(), tracker({"order_id": number, "customer_id": verified(customer_id(service, number))}))
    assert responses(messages)[:3] == ["utter_status_shipped", "utter_order_tracking", "utter_order_eta"]
    assert messages[0]["order_id"] == number


def test_unknown_and_someone_elses_order_get_the_same_answer(service):
    oliver = customer_id(service, order(OLIVER, 6))
    track = tracker({"customer_id": verified(oliver)})
    someone_else = validate(ValidateStatusForm(), "order_id", order(AMINA, 6), track)
    unknown = validate(ValidateStatusForm(), "order_id", "8170099900000006", track)
    assert someone_else == unknown
    assert responses(unknown[0]) == ["utter_order_not_found"]


def test_contact_verification_accepts_local_phone_and_rejects_wrong_email(service):
    number = order(WANJIKU, 6)
    track = tracker({"order_id": number})
    messages, slots = validate(ValidateStatusForm(), "contact", "0712 345 678", track)
    assert slots["customer_id"]["customer"] == customer_id(service, number)
    assert slots["customer_id"]["channel"] == "rest" and slots["customer_id"]["sign_in"] == ""
    messages, slots = validate(ValidateStatusForm(), "contact", "amina.diallo@example.com", track)
    assert responses(messages) == ["utter_order_not_found"] and slots["order_id"] is None


def test_cancellation_is_filed_once_even_if_confirmed_twice(service, factory):
    number = order(AMINA, 3)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "cancel_reason": "no_longer_needed",
             "confirmed": True}
    first, _ = run(ActionCancelOrder(), tracker(slots, active_loop="cancel_form"))
    second, _ = run(ActionCancelOrder(), tracker(slots, active_loop="cancel_form"))
    assert responses(first) == responses(second) == ["utter_cancel_requested"]
    assert rows_for(factory, CancellationRequest, number) == 1
    view = service.get_order(order_number=number, customer_id=slots["customer_id"]["customer"])
    assert view.cancellation_state == "awaiting_seller"


def test_no_is_respected_nothing_is_filed(service):
    number = order(AMINA, 3)
    cid = customer_id(service, number)
    messages, _ = run(ActionCancelOrder(), tracker({"order_id": number, "customer_id": verified(cid), "confirmed": False}))
    assert responses(messages) == ["utter_nothing_filed"]
    assert service.get_order(order_number=number, customer_id=cid).cancellation_state == "none"


def test_shipped_order_cannot_be_cancelled_and_the_form_stops(service):
    number = order(OLIVER, 6)
    track = tracker({"customer_id": verified(customer_id(service, number))})
    messages, slots = validate(ValidateCancelForm(), "order_id", number, track)
    assert responses(messages) == ["utter_refuse_cancel_shipped"]
    assert slots["task_blocked"] is True


def test_platform_fraud_cancellation_is_never_restored(service):
    number = order(WANJIKU, 12)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "confirmed": True}
    messages, _ = run(ActionRestoreOrder(), tracker(slots))
    assert responses(messages) == ["utter_refuse_resume_platform_fraud"]


def test_dispute_opened_once(service, factory):
    number = order(OLIVER, 7)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "dispute_reason": "not_received",
             "dispute_description": "nothing arrived", "dispute_evidence": "none", "confirmed": True}
    first, _ = run(ActionOpenDispute(), tracker(slots, active_loop="dispute_form"))
    second, _ = run(ActionOpenDispute(), tracker(slots, active_loop="dispute_form"))
    assert responses(first) == responses(second) == ["utter_dispute_opened"]
    assert rows_for(factory, Dispute, number) == 1


def test_channel_identity_and_website_token_identify_the_customer(service):
    telegram = tracker(channel="telegram", sender="100002")
    assert asyncio.run(identify(telegram)) == customer_id(service, order(WANJIKU, 1))
    rest_same_id = tracker(channel="rest", sender="100002")
    assert asyncio.run(identify(rest_same_id)) is None
    oliver = customer_id(service, order(OLIVER, 1))
    settings = TokenSettings.from_env()
    good = issue_token(oliver, 600, settings)
    expired = issue_token(oliver, 600, settings, now=time.time() - 601)
    forged = issue_token(oliver, 600, replace(settings, secret="wrong-secret-0123456789abcdef0123456789"))
    assert asyncio.run(identify(tracker(metadata={"auth_token": good}))) == oliver
    assert asyncio.run(identify(tracker(metadata={"auth_token": expired}))) is None
    assert asyncio.run(identify(tracker(metadata={"auth_token": forged}))) is None


def test_database_down_nothing_announced(service, monkeypatch):
    number = order(AMINA, 3)
    cid = customer_id(service, number)

    def down(**kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is unreachable"))

    monkeypatch.setattr(service, "request_cancellation", down)
    slots = {"order_id": number, "customer_id": verified(cid), "cancel_reason": "other", "confirmed": True}
    messages, _ = run(ActionCancelOrder(), tracker(slots))
    assert responses(messages) == ["utter_service_unavailable"]
    monkeypatch.undo()
    assert service.get_order(order_number=number, customer_id=cid).cancellation_state == "none"


def test_handoff_opens_a_ticket_and_pauses(service, factory):
    number = order(OLIVER, 7)
    messages, events = run(ActionHandoff(), tracker({"order_id": number, "customer_id": verified(customer_id(service, number))}))
    assert responses(messages) == ["utter_handoff"]
    assert messages[0]["ticket_number"].startswith("T-")
    assert any(e.get("event") == "pause" for e in events)
    assert rows_for(factory, SupportTicket, number) == 1


def test_filed_cancellation_schedules_the_deadline_follow_up(service):
    number = order(OLIVER, 2)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "cancel_reason": "other",
             "confirmed": True}
    _, events = run(ActionCancelOrder(), tracker(slots, active_loop="cancel_form"))
    reminders = [e for e in events if e.get("event") == "reminder"]
    assert len(reminders) == 1 and reminders[0]["intent"] == "EXTERNAL_cancellation_deadline"
    assert reminders[0]["entities"] == [{"entity": "order_id", "value": number}]


def test_after_72_hours_the_user_is_told_the_cancellation_was_approved(service):
    number = order(WANJIKU, 5)  # pending request whose deadline passed an hour ago
    track = tracker({"customer_id": verified(customer_id(service, number)), "language": "sw"})
    track.latest_message = {"intent": {"name": "EXTERNAL_cancellation_deadline"},
                            "entities": [{"entity": "order_id", "value": number}]}
    messages, _ = run(ActionCancellationFollowup(), track)
    assert responses(messages) == ["utter_deadline_approved"]
    assert messages[0]["currency"] == "KES"


def test_follow_up_says_nothing_to_someone_who_does_not_own_the_order(service):
    number = order(WANJIKU, 5)
    track = tracker({"customer_id": verified(customer_id(service, order(OLIVER, 1)))})
    track.latest_message = {"intent": {"name": "EXTERNAL_cancellation_deadline"},
                            "entities": [{"entity": "order_id", "value": number}]}
    messages, _ = run(ActionCancellationFollowup(), track)
    assert messages == []


def test_three_failed_answers_hand_over_to_a_person(service, factory):
    track = tracker({"task_blocked": True, "form_failures": 3, "order_id": None})
    messages, events = run(ActionCancelOrder(), track)
    assert responses(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)
    with factory() as session:
        assert session.execute(select(func.count()).select_from(SupportTicket)).scalar_one() == 1


def test_three_bad_order_numbers_stop_the_form(service):
    validator, slots = ValidateStatusForm(), {}
    for attempt in range(3):
        messages, result = validate(validator, "order_id", "12", tracker({"form_failures": attempt}))
        slots.update(result)
    assert responses(messages) == ["utter_invalid_order_id", "utter_too_many_attempts"]
    assert slots["task_blocked"] is True and slots["form_failures"] == 3


def test_words_instead_of_an_order_number_get_where_to_find_it(service):
    messages, result = validate(ValidateStatusForm(), "order_id", "the blue dress", tracker())
    assert responses(messages) == ["utter_faq/find_order_number"]
    assert result["order_id"] is None and result["form_failures"] == 1


@pytest.mark.parametrize("topic, skill", [("faq/cancel_how", "cancel_order"), ("faq/restore_cancelled", "restore_order"),
                                          ("faq/safe_buying", None), ("faq/seller_asks_close_dispute", None)])
def test_policy_answer_offers_the_matching_skill(topic, skill):
    from actions.skills.followups import ActionOfferSkill

    track = tracker()
    track.latest_message = {"intent": {"name": "faq"},
                            "response_selector": {"faq": {"response": {"intent_response_key": topic}}}}
    messages, _ = run(ActionOfferSkill(), track)
    assert responses(messages) == ([f"utter_offer_{skill}"] if skill else [])


def test_contact_is_asked_only_when_nobody_identifies_the_customer(service):
    validator = ValidateStatusForm()
    domain_slots = ["order_id", "contact"]

    async def required(track):
        return await validator.required_slots(domain_slots, CollectingDispatcher(), track, {})

    assert asyncio.run(required(tracker({"order_id": order(OLIVER, 6)}))) == ["order_id", "contact"]
    assert asyncio.run(required(tracker({"customer_id": verified(3)}))) == ["order_id"]
    assert asyncio.run(required(tracker(channel="telegram", sender="100003"))) == ["order_id"]


def test_withdrawing_after_the_reopening_window_does_not_promise_a_reopening(service, monkeypatch):
    """The service always returns the reopening deadline; past it, the user is not told to reopen."""
    from datetime import datetime, timedelta, timezone

    from actions.skills import skills
    from actions.skills.skills import ActionWithdrawDispute

    number = order(OLIVER, 13)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "confirmed": True}
    monkeypatch.setattr(skills, "now", lambda: datetime.now(timezone.utc) + timedelta(days=60))
    messages, _ = run(ActionWithdrawDispute(), tracker(slots))
    assert responses(messages) == ["utter_dispute_withdrawn_no_reopen"]
    assert "reopen_until" not in messages[0]


def test_a_refund_asked_for_a_problem_goes_to_the_problem_not_to_no_refund(service):
    # "Refund me, the parcel never came" about a late order with nothing under way: the money comes
    # back through the non-delivery path, so the delivery check answers for that order.
    number = order(OLIVER, 7)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "dispute_reason": "not_received"}
    messages, events = run(ActionRefundStatus(), tracker(slots))
    assert messages == []
    assert {"event": "slot", "timestamp": None, "name": "order_id", "value": number} in events
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "delivery_form"
    # the same words about an order whose refund is on its way: the refund answers
    number = order(OLIVER, 11)
    slots = {"order_id": number, "customer_id": verified(customer_id(service, number)), "dispute_reason": "not_received"}
    messages, events = run(ActionRefundStatus(), tracker(slots))
    assert responses(messages) == ["utter_refund_pending"]
    assert not any(e["event"] == "followup" for e in events)
