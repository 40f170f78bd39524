"""OrderService on SQLite and PostgreSQL: flows, ownership, idempotency, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from orders_test_helpers import NOW, Clock, audit_rows, count, customer_id, number, table_counts
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from actions.orders import Code, DisputeReason, OrderService, Result
from actions.orders.models import CancellationRequest, ChannelIdentity, Dispute, SupportTicket

H = timedelta(hours=1)
D = timedelta(days=1)
MISSING = "8170034500000099"


@pytest.fixture
def amina(demo: OrderService) -> int:
    return customer_id(demo, "amina")


@pytest.fixture
def wanjiku(demo: OrderService) -> int:
    return customer_id(demo, "wanjiku")


def not_found(order_number: str) -> Result:
    return Result(ok=False, code=Code.ORDER_NOT_FOUND, data={"order_number": order_number})


# --- identities, customers, ownership checks ----------------------------------------------


def test_customer_for_identity(demo: OrderService, amina: int, wanjiku: int) -> None:
    assert demo.customer_for_identity(channel="telegram", external_id="100001") == amina
    assert demo.customer_for_identity(channel="WhatsApp", external_id="whatsapp:+254712345678") == wanjiku
    assert demo.customer_for_identity(channel="slack", external_id="U0NOBODY") is None


def test_link_identity(demo: OrderService, sessions: sessionmaker, amina: int, wanjiku: int) -> None:
    linked = demo.link_identity(customer_id=amina, channel="telegram", external_id="555")
    assert (linked.ok, linked.code, linked.duplicate) == (True, Code.IDENTITY_LINKED, False)
    assert demo.customer_for_identity(channel="telegram", external_id="555") == amina
    again = demo.link_identity(customer_id=amina, channel="telegram", external_id="555")
    assert (again.ok, again.code, again.duplicate) == (True, Code.IDENTITY_ALREADY_LINKED, True)
    taken = demo.link_identity(customer_id=wanjiku, channel="telegram", external_id="555")
    assert (taken.ok, taken.code) == (False, Code.IDENTITY_LINKED_ELSEWHERE)
    assert (
        demo.link_identity(customer_id=9999, channel="telegram", external_id="556").code
        == Code.CUSTOMER_NOT_FOUND
    )
    assert count(sessions, ChannelIdentity) == 9 + 1
    assert [r.action for r in audit_rows(sessions)][-1] == "identity.linked"


def test_get_customer(demo: OrderService, wanjiku: int) -> None:
    customer = demo.get_customer(customer_id=wanjiku)
    assert customer is not None
    assert (customer.name, customer.email, customer.phone, customer.preferred_language) == (
        "Wanjiku Kamau",
        "wanjiku.kamau@example.co.ke",
        "+254712345678",
        "sw",
    )
    assert ("telegram", "100002") in {(i.channel, i.external_id) for i in customer.identities}
    assert (customer.locale, customer.time_zone) == ("sw_KE", "Africa/Nairobi")
    assert demo.get_customer(customer_id=9999) is None


@pytest.mark.parametrize(
    ("order", "contact", "owner"),
    [
        (("wanjiku", "03"), "wanjiku.kamau@example.co.ke", "wanjiku"),
        (("wanjiku", "03"), "  Wanjiku.Kamau@Example.CO.KE ", "wanjiku"),
        (("wanjiku", "03"), "+254 712 345 678", "wanjiku"),
        (("wanjiku", "03"), "0712345678", "wanjiku"),
        (("wanjiku", "03"), "0712-345-678", "wanjiku"),
        (("wanjiku", "03"), "00254712345678", "wanjiku"),
        (("wanjiku", "03"), "254712345678", "wanjiku"),
        (("amina", "07"), "77 123 45 67", "amina"),
        (("oliver", "01"), "07700 900123", "oliver"),
        (("wanjiku", "03"), "0712345679", None),
        (("wanjiku", "03"), "amina.diallo@example.com", None),  # a real customer, not this order's
        (("wanjiku", "03"), "+221771234567", None),
        (("wanjiku", "03"), "", None),
        (("wanjiku", "99"), "wanjiku.kamau@example.co.ke", None),  # no such order
    ],
)
def test_verify_owner(demo: OrderService, order: tuple[str, str], contact: str, owner: str | None) -> None:
    expected = customer_id(demo, owner) if owner else None
    assert demo.verify_owner(order_number=number(*order), contact=contact) == expected


# --- reads --------------------------------------------------------------------------------


def test_get_order_view(demo: OrderService, amina: int) -> None:
    view = demo.get_order(order_number="8170 0345 0000 0006", customer_id=amina)
    assert view is not None
    assert (view.number, view.status, view.cancellation_state) == (number("amina", "06"), "shipped", "none")
    assert view.currency == "XOF" and view.amount == sum(i.unit_price * i.quantity for i in view.items)
    assert view.estimated_delivery == NOW + 10 * D
    assert view.shipment is not None and view.shipment.carrier and view.shipment.tracking_number
    times = [e.at for e in view.shipment.events]
    assert times == sorted(times, reverse=True) and all(t < NOW for t in times)
    # milestones are codes the bot words in the buyer's language, newest first
    assert [e.code for e in view.shipment.events] == [
        "arrived_destination", "departed_origin", "at_sorting_center", "shipped"]
    assert (view.customer_locale, view.customer_time_zone) == ("fr_SN", "Africa/Dakar")
    json.dumps(view.to_dict())  # JSON-ready

    pending = demo.get_order(order_number=number("amina", "04"), customer_id=amina)
    assert pending is not None and pending.cancellation is not None
    assert (pending.cancellation.status, pending.cancellation.deadline) == ("pending_seller", NOW + 48 * H)
    assert pending.cancellation_state == "awaiting_seller"


def test_list_orders_newest_first(demo: OrderService, amina: int) -> None:
    orders = demo.list_orders(customer_id=amina, limit=5)
    assert len(orders) == 5
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)
    assert orders[0].number == number("amina", "01")
    assert {o.currency for o in demo.list_orders(customer_id=amina, limit=50)} == {"XOF"}
    assert len(demo.list_orders(customer_id=amina, limit=50)) == 19


# --- ownership: someone else's order is exactly an unknown order ---------------------------

FOREIGN = ("wanjiku", "03")
OWNERSHIP_CALLS: dict[str, Callable[[OrderService, str, int], object]] = {
    "get_order": lambda s, n, c: s.get_order(order_number=n, customer_id=c),
    "check_cancellation": lambda s, n, c: s.check_cancellation(order_number=n, customer_id=c),
    "request_cancellation": lambda s, n, c: s.request_cancellation(
        order_number=n, customer_id=c, idempotency_key=f"own-cancel-{n}", channel="telegram"
    ),
    "check_resume": lambda s, n, c: s.check_resume(order_number=n, customer_id=c),
    "resume_order": lambda s, n, c: s.resume_order(
        order_number=n, customer_id=c, idempotency_key=f"own-resume-{n}"
    ),
    "check_dispute": lambda s, n, c: s.check_dispute(order_number=n, customer_id=c, reason="not_received"),
    "open_dispute": lambda s, n, c: s.open_dispute(
        order_number=n, customer_id=c, reason="bad_quality", idempotency_key=f"own-dispute-{n}"
    ),
    "check_withdraw_dispute": lambda s, n, c: s.check_withdraw_dispute(order_number=n, customer_id=c),
    "withdraw_dispute": lambda s, n, c: s.withdraw_dispute(
        order_number=n, customer_id=c, idempotency_key=f"own-w-{n}"
    ),
    "refund_status": lambda s, n, c: s.refund_status(order_number=n, customer_id=c),
}


@pytest.mark.parametrize("scenario", ["03", "07", "10", "13"])
@pytest.mark.parametrize("method", sorted(OWNERSHIP_CALLS))
def test_foreign_order_behaves_like_unknown(
    demo: OrderService, sessions: sessionmaker, amina: int, method: str, scenario: str
) -> None:
    call = OWNERSHIP_CALLS[method]
    foreign = number("wanjiku", scenario)
    before = table_counts(sessions)
    on_foreign = call(demo, foreign, amina)
    on_missing = call(demo, MISSING, amina)
    if method == "get_order":
        assert on_foreign is None and on_missing is None
    else:
        assert on_foreign == not_found(foreign)
        assert on_missing == not_found(MISSING)
    assert table_counts(sessions) == before  # nothing written, nothing audited


def test_foreign_order_not_linked_to_ticket(demo: OrderService, amina: int) -> None:
    foreign = demo.open_ticket(
        customer_id=amina, language="fr", intent="request_human", order_number=number(*FOREIGN)
    )
    missing = demo.open_ticket(customer_id=amina, language="fr", intent="request_human", order_number=MISSING)
    assert foreign.data["order_linked"] is False and missing.data["order_linked"] is False
    ticket = demo.get_ticket(number=foreign.data["ticket_number"])
    assert ticket is not None and ticket.order_number is None


def test_invalid_inputs(demo: OrderService, amina: int) -> None:
    bad_number = demo.check_cancellation(order_number="12345", customer_id=amina)
    assert (bad_number.ok, bad_number.code) == (False, Code.INVALID_ORDER_NUMBER)
    assert demo.get_order(order_number="abc", customer_id=amina) is None
    bad_reason = demo.open_dispute(
        order_number=number("amina", "07"), customer_id=amina, reason="too_expensive"
    )
    assert bad_reason.code == Code.INVALID_REASON and "not_received" in bad_reason.data["allowed"]
    assert (
        demo.request_cancellation(order_number=number("amina", "03"), customer_id=amina, reason="x").code
        == Code.INVALID_REASON
    )
    assert demo.open_ticket(customer_id=amina, language="de", intent="x").code == Code.INVALID_VALUE


# --- cancellation -------------------------------------------------------------------------


def test_cancel_unpaid_order_at_once(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    order = number("amina", "01")
    assert demo.check_cancellation(order_number=order, customer_id=amina).code == Code.CANCEL_IMMEDIATELY
    result = demo.request_cancellation(
        order_number=order, customer_id=amina, idempotency_key="c1", channel="telegram"
    )
    assert (result.ok, result.code, result.data["status"]) == (True, Code.CANCELLED, "cancelled")
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and (view.status, view.cancelled_by, view.cancelled_at) == (
        "cancelled",
        "buyer",
        NOW,
    )
    assert demo.check_resume(order_number=order, customer_id=amina).code == Code.RESUME_UNPAID_CANCELLED
    assert demo.check_cancellation(order_number=order, customer_id=amina).code == Code.ALREADY_CANCELLED
    last = audit_rows(sessions)[-1]
    assert (last.actor, last.channel, last.action, last.entity_id) == (
        f"customer:{amina}",
        "telegram",
        "order.cancelled",
        order,
    )


def test_cancel_paid_order_asks_seller(demo: OrderService, amina: int) -> None:
    order = number("amina", "03")
    check = demo.check_cancellation(order_number=order, customer_id=amina)
    assert (check.ok, check.code, check.data["seller_hours"]) == (True, Code.REQUEST_SELLER, 72)
    result = demo.request_cancellation(
        order_number=order, customer_id=amina, reason="wrong_item_ordered", idempotency_key="c1"
    )
    assert (result.ok, result.code) == (True, Code.CANCELLATION_REQUESTED)
    assert result.data["deadline"] == (NOW + 72 * H).isoformat()
    json.dumps(result.data)
    view = demo.get_order(order_number=order, customer_id=amina)
    assert (
        view is not None
        and view.status == "awaiting_shipment"
        and view.cancellation_state == "awaiting_seller"
    )
    assert view.cancellation is not None and view.cancellation.id == result.data["request_id"]
    assert view.cancellation.reason == "wrong_item_ordered"
    # a readable reference to quote, the same in the answer and in the view
    assert result.data["reference"] == view.cancellation.reference == f"C-{result.data['request_id']:06d}"
    again = demo.check_cancellation(order_number=order, customer_id=amina)
    assert (again.code, again.data["request_id"], again.data["reference"]) == (
        Code.CANCEL_ALREADY_REQUESTED,
        result.data["request_id"],
        result.data["reference"],
    )
    refund = demo.refund_status(order_number=order, customer_id=amina)
    assert (refund.code, refund.data["cancellation_deadline"]) == (Code.NO_REFUND, (NOW + 72 * H).isoformat())


def test_cancel_shipped_order_is_refused(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    before = table_counts(sessions)
    result = demo.request_cancellation(
        order_number=number("amina", "06"), customer_id=amina, idempotency_key="c1"
    )
    assert (result.ok, result.code) == (False, Code.CANCEL_SHIPPED)
    assert result.data["dispute_reasons"] == [r.value for r in DisputeReason]
    assert table_counts(sessions) == before


def test_natural_duplicate_cancellation(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    order = number("amina", "03")
    first = demo.request_cancellation(order_number=order, customer_id=amina, idempotency_key="conversation-1")
    second = demo.request_cancellation(
        order_number=order, customer_id=amina, idempotency_key="conversation-2"
    )
    assert (second.ok, second.code, second.duplicate) == (False, Code.CANCEL_ALREADY_REQUESTED, True)
    assert second.data["request_id"] == first.data["request_id"]
    with sessions() as session:
        rows = (
            session.execute(
                select(CancellationRequest).where(CancellationRequest.id == first.data["request_id"])
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1


# --- idempotency and audit, for every write --------------------------------------------------

WRITES: dict[str, tuple[str, str, Callable[[OrderService, int, str], Result]]] = {
    # name: (scenario, expected audit action, call)
    "request_cancellation": (
        "03",
        "cancellation.requested",
        lambda s, c, k: s.request_cancellation(
            order_number=number("amina", "03"), customer_id=c, idempotency_key=k, channel="whatsapp"
        ),
    ),
    "cancel_unpaid": (
        "01",
        "order.cancelled",
        lambda s, c, k: s.request_cancellation(
            order_number=number("amina", "01"), customer_id=c, idempotency_key=k, channel="whatsapp"
        ),
    ),
    "resume_order": (
        "10",
        "order.resumed",
        lambda s, c, k: s.resume_order(
            order_number=number("amina", "10"), customer_id=c, idempotency_key=k, channel="whatsapp"
        ),
    ),
    "open_dispute": (
        "07",
        "dispute.opened",
        lambda s, c, k: s.open_dispute(
            order_number=number("amina", "07"),
            customer_id=c,
            reason="not_received",
            description="Nothing arrived",
            evidence=["photo:1"],
            idempotency_key=k,
            channel="whatsapp",
        ),
    ),
    "reopen_dispute": (
        "14",
        "dispute.reopened",
        lambda s, c, k: s.open_dispute(
            order_number=number("amina", "14"),
            customer_id=c,
            reason="not_as_described",
            idempotency_key=k,
            channel="whatsapp",
        ),
    ),
    "withdraw_dispute": (
        "13",
        "dispute.withdrawn",
        lambda s, c, k: s.withdraw_dispute(
            order_number=number("amina", "13"), customer_id=c, idempotency_key=k, channel="whatsapp"
        ),
    ),
    "open_ticket": (
        "13",
        "ticket.opened",
        lambda s, c, k: s.open_ticket(
            customer_id=c,
            language="fr",
            intent="request_human",
            order_number=number("amina", "13"),
            priority="high",
            summary="Wants a human",
            transcript=[{"sender": "user", "text": "agent"}],
            idempotency_key=k,
            channel="whatsapp",
        ),
    ),
}


@pytest.mark.parametrize("operation", sorted(WRITES))
def test_write_is_idempotent_and_audited(
    demo: OrderService, sessions: sessionmaker, amina: int, operation: str, clock: Clock
) -> None:
    _, action, call = WRITES[operation]
    before = table_counts(sessions)
    first = call(demo, amina, "conv-42:op")
    assert first.ok and not first.duplicate, first
    after_first = table_counts(sessions)
    assert after_first["audit_log"] == before["audit_log"] + 1
    assert after_first["idempotency_keys"] == before["idempotency_keys"] + 1
    audit = audit_rows(sessions)[-1]
    assert (audit.actor, audit.channel, audit.action, audit.at) == (
        f"customer:{amina}",
        "whatsapp",
        action,
        NOW,
    )

    clock.advance(minutes=5)
    second = call(demo, amina, "conv-42:op")
    assert second == Result(first.ok, first.code, first.data, duplicate=True)
    assert table_counts(sessions) == after_first  # no second row of any kind


def test_idempotency_key_is_scoped(demo: OrderService, amina: int, wanjiku: int) -> None:
    demo.request_cancellation(order_number=number("amina", "03"), customer_id=amina, idempotency_key="k")
    other_operation = demo.resume_order(
        order_number=number("amina", "03"), customer_id=amina, idempotency_key="k"
    )
    other_order = demo.request_cancellation(
        order_number=number("amina", "02"), customer_id=amina, idempotency_key="k"
    )
    other_customer = demo.request_cancellation(
        order_number=number("wanjiku", "03"), customer_id=wanjiku, idempotency_key="k"
    )
    for result in (other_operation, other_order, other_customer):
        assert (result.ok, result.code) == (False, Code.IDEMPOTENCY_KEY_CONFLICT)


# --- resume, seller decisions -------------------------------------------------------------


def test_resume_cancelled_order_awaiting_seller(demo: OrderService, amina: int) -> None:
    order = number("amina", "10")
    assert demo.check_resume(order_number=order, customer_id=amina).code == Code.RESUME
    result = demo.resume_order(order_number=order, customer_id=amina, idempotency_key="r1")
    assert (result.ok, result.code, result.data["status"]) == (True, Code.RESUMED, "payment_processing")
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and (view.status, view.cancelled_by, view.cancellation_state) == (
        "payment_processing",
        None,
        "none",
    )
    assert view.cancellation is not None and view.cancellation.status == "withdrawn"
    assert demo.check_resume(order_number=order, customer_id=amina).code == Code.NOT_CANCELLED
    assert demo.check_cancellation(order_number=order, customer_id=amina).code == Code.REQUEST_SELLER


def test_resume_withdraws_pending_request(demo: OrderService, amina: int) -> None:
    order = number("amina", "04")
    result = demo.resume_order(order_number=order, customer_id=amina)
    assert (result.code, result.data["status"]) == (Code.RESUMED, "awaiting_shipment")
    assert demo.check_cancellation(order_number=order, customer_id=amina).code == Code.REQUEST_SELLER
    outcomes = demo.process_deadlines(now=NOW + 10 * D)
    assert order not in {o.order_number for o in outcomes}
    assert number("amina", "05") in {o.order_number for o in outcomes}


def test_seller_approves(demo: OrderService, amina: int) -> None:
    order = number("amina", "03")
    request_id = demo.request_cancellation(order_number=order, customer_id=amina).data["request_id"]
    approved = demo.seller_decides(request_id=request_id, approve=True)
    assert (approved.ok, approved.code) == (True, Code.SELLER_APPROVED)
    assert approved.data["refund"]["expected_by"] == "2025-03-26"
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and (view.status, view.cancelled_by, view.cancellation_state) == (
        "cancelled",
        "buyer",
        "confirmed",
    )
    assert demo.check_resume(order_number=order, customer_id=amina).code == Code.RESUME_SELLER_CONFIRMED
    refund = demo.refund_status(order_number=order, customer_id=amina)
    assert (refund.code, refund.data["amount"], refund.data["currency"]) == (
        Code.REFUND_PENDING,
        str(view.amount),
        "XOF",
    )
    assert demo.seller_decides(request_id=request_id, approve=False).code == Code.REQUEST_NOT_PENDING
    assert demo.seller_decides(request_id=987654, approve=True).code == Code.REQUEST_NOT_FOUND


@pytest.mark.parametrize(("scenario", "status"), [("04", "awaiting_shipment"), ("10", "payment_processing")])
def test_seller_rejects(
    demo: OrderService, sessions: sessionmaker, amina: int, scenario: str, status: str
) -> None:
    order = number("amina", scenario)
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and view.cancellation is not None
    rejected = demo.seller_decides(request_id=view.cancellation.id, approve=False)
    assert (rejected.code, rejected.data["status"]) == (Code.SELLER_REJECTED, status)
    after = demo.get_order(order_number=order, customer_id=amina)
    assert after is not None and (after.status, after.cancelled_by, after.cancellation_state) == (
        status,
        None,
        "none",
    )
    assert audit_rows(sessions)[-1].actor.startswith("seller:")


# --- disputes -----------------------------------------------------------------------------


def test_open_dispute_once(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    order = number("amina", "07")
    assert (
        demo.check_dispute(order_number=order, customer_id=amina, reason="not_received").code
        == Code.DISPUTE_ALLOWED
    )
    opened = demo.open_dispute(
        order_number=order,
        customer_id=amina,
        reason="not_received",
        description="Still waiting",
        evidence=["screenshot:tracking.png"],
        idempotency_key="d1",
    )
    assert (opened.ok, opened.code, opened.data["status"]) == (True, Code.DISPUTE_OPENED, "open")
    assert opened.data["reference"] == f"D-{opened.data['dispute_id']:06d}"
    same = demo.open_dispute(
        order_number=order, customer_id=amina, reason="not_received", idempotency_key="d2"
    )
    assert (same.ok, same.code, same.duplicate, same.data["dispute_id"], same.data["reference"]) == (
        False,
        Code.DISPUTE_ALREADY_OPEN,
        True,
        opened.data["dispute_id"],
        opened.data["reference"],
    )
    other = demo.open_dispute(
        order_number=order, customer_id=amina, reason="wrong_tracking", idempotency_key="d3"
    )
    assert (other.code, other.duplicate) == (Code.DISPUTE_ALREADY_OPEN, False)
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and view.dispute is not None
    assert (view.dispute.status, view.dispute.reason, view.dispute.description, view.dispute.reference) == (
        "open",
        "not_received",
        "Still waiting",
        opened.data["reference"],
    )
    with sessions() as session:
        dispute = session.execute(select(Dispute).where(Dispute.id == opened.data["dispute_id"])).scalar_one()
        assert dispute.evidence == ["screenshot:tracking.png"]
        assert [e.kind for e in dispute.events] == ["opened"]


def test_dispute_too_early_gives_the_date(demo: OrderService, amina: int) -> None:
    result = demo.check_dispute(order_number=number("amina", "06"), customer_id=amina, reason="not_received")
    assert (result.ok, result.code, result.data["available_from"]) == (
        False,
        Code.DISPUTE_TOO_EARLY,
        (NOW + 10 * D).isoformat(),
    )
    early = demo.check_dispute(order_number=number("amina", "03"), customer_id=amina, reason="not_received")
    assert (early.code, early.data["suggest"]) == (Code.DISPUTE_NOT_SHIPPED, "cancel_order")


def test_dispute_check_without_a_reason(demo: OrderService, amina: int) -> None:
    in_transit = demo.check_dispute(order_number=number("amina", "06"), customer_id=amina)
    assert (in_transit.ok, in_transit.code) == (True, Code.DISPUTE_ALLOWED)
    resolved = demo.check_dispute(order_number=number("amina", "17"), customer_id=amina)
    assert (resolved.ok, resolved.data["resolved_outcome"]) == (True, "resolved_seller")
    assert resolved.data["resolved_reasons"]
    unshipped = demo.check_dispute(order_number=number("amina", "03"), customer_id=amina)
    assert (unshipped.ok, unshipped.code) == (False, Code.DISPUTE_NOT_SHIPPED)


def test_withdraw_then_reopen(demo: OrderService, amina: int, clock: Clock) -> None:
    order = number("amina", "13")
    check = demo.check_withdraw_dispute(order_number=order, customer_id=amina)
    assert (check.code, check.data["reopen_until"]) == (Code.WITHDRAW_ALLOWED, (NOW + 11 * D).isoformat())
    withdrawn = demo.withdraw_dispute(order_number=order, customer_id=amina, idempotency_key="w1")
    assert (withdrawn.code, withdrawn.data["reopen_until"]) == (
        Code.DISPUTE_WITHDRAWN,
        (NOW + 11 * D).isoformat(),
    )
    assert (
        demo.check_withdraw_dispute(order_number=order, customer_id=amina).code
        == Code.DISPUTE_ALREADY_WITHDRAWN
    )
    view = demo.get_order(order_number=order, customer_id=amina)
    assert view is not None and view.dispute is not None and view.dispute.reopen_until == NOW + 11 * D
    clock.advance(days=3)
    reopened = demo.open_dispute(
        order_number=order, customer_id=amina, reason="bad_quality", idempotency_key="o1"
    )
    assert (reopened.ok, reopened.code) == (True, Code.DISPUTE_REOPENED)
    clock.advance(days=9)
    late = demo.withdraw_dispute(order_number=order, customer_id=amina, idempotency_key="w2")
    assert late.code == Code.DISPUTE_WITHDRAWN
    assert (
        demo.check_dispute(order_number=order, customer_id=amina, reason="bad_quality").code
        == Code.DISPUTE_REOPEN_WINDOW_CLOSED
    )


# --- support tickets ----------------------------------------------------------------------


def test_tickets(demo: OrderService, sessions: sessionmaker, amina: int) -> None:
    opened = demo.open_ticket(
        customer_id=amina,
        language="fr",
        intent="order_not_received",
        order_number=number("amina", "07"),
        priority="urgent",
        summary="Colis non reçu",
        transcript=[{"sender": "user", "text": "où est mon colis ?"}],
        idempotency_key="t1",
        channel="telegram",
    )
    assert opened.ok and opened.data["order_linked"] is True
    ticket_number = opened.data["ticket_number"]
    assert ticket_number.startswith("T-") and len(ticket_number) == 8
    ticket = demo.get_ticket(number=ticket_number.lower())
    assert ticket is not None
    assert (ticket.customer_id, ticket.order_number, ticket.priority, ticket.status, ticket.language) == (
        amina,
        number("amina", "07"),
        "urgent",
        "open",
        "fr",
    )
    assert ticket.transcript == [{"sender": "user", "text": "où est mon colis ?"}]
    status = demo.set_ticket_status(number=ticket_number, status="in_progress", actor="agent:marie")
    assert (status.ok, status.code) == (True, Code.TICKET_STATUS_SET)
    assert audit_rows(sessions)[-1].actor == "agent:marie"
    ticket = demo.get_ticket(number=ticket_number)
    assert ticket is not None and ticket.status == "in_progress"
    assert demo.set_ticket_status(number="T-999999", status="closed").code == Code.TICKET_NOT_FOUND
    assert demo.set_ticket_status(number=ticket_number, status="lost").code == Code.INVALID_VALUE
    assert demo.get_ticket(number="T-999999") is None and demo.get_ticket(number="nonsense") is None

    anonymous = demo.open_ticket(
        customer_id=None, language="sw", intent="faq", transcript="habari", priority="low"
    )
    anonymous_ticket = demo.get_ticket(number=anonymous.data["ticket_number"])
    assert anonymous_ticket is not None and anonymous_ticket.customer_id is None
    assert anonymous_ticket.transcript == "habari"
    assert audit_rows(sessions)[-1].actor == "anonymous"
    assert count(sessions, SupportTicket) == 2


def test_long_values_are_stored_safely(demo: OrderService, amina: int) -> None:
    key = "conversation:" + "x" * 500
    first = demo.request_cancellation(order_number=number("amina", "03"), customer_id=amina, idempotency_key=key)
    again = demo.request_cancellation(order_number=number("amina", "03"), customer_id=amina, idempotency_key=key)
    assert first.ok and again.duplicate and again.data == first.data
    ticket = demo.open_ticket(customer_id=amina, language="fr", intent="i" * 100, channel="c" * 50)
    view = demo.get_ticket(number=ticket.data["ticket_number"])
    assert view is not None and len(view.intent) == 64 and len(view.channel) == 32
