"""Demo data: seeding is repeatable, every scenario is in the state its description says
(seen through the service, on both backends), and the deadline job approves scenario 05."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from orders_test_helpers import NOW, Clock, count, customer_id, number, table_counts
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from actions.orders import Code, OrderService, OrderView
from actions.orders.demo import CUSTOMERS, DEMO_ORDERS, SCENARIOS, demo_table_markdown, seed
from actions.orders.models import AuditLog, ChannelIdentity, Customer, Refund

D = timedelta(days=1)
H = timedelta(hours=1)

# scenario -> what the service must say about it.  Keys: status, cancelled_by,
# cancellation_state, cancel / resume / withdraw / refund (expected code), dispute (reason, code),
# dispute_status.
EXPECTED: dict[str, dict[str, Any]] = {
    "01": dict(
        status="awaiting_payment",
        cancel=Code.CANCEL_IMMEDIATELY,
        resume=Code.NOT_CANCELLED,
        refund=Code.NO_REFUND,
    ),
    "02": dict(
        status="payment_processing",
        cancel=Code.REQUEST_SELLER,
        dispute=("not_received", Code.DISPUTE_NOT_SHIPPED),
    ),
    "03": dict(status="awaiting_shipment", cancel=Code.REQUEST_SELLER, cancellation_state="none"),
    "04": dict(
        status="awaiting_shipment",
        cancel=Code.CANCEL_ALREADY_REQUESTED,
        resume=Code.RESUME,
        cancellation_state="awaiting_seller",
    ),
    "05": dict(
        status="awaiting_shipment", cancel=Code.CANCEL_ALREADY_REQUESTED, cancellation_state="awaiting_seller"
    ),
    "06": dict(
        status="shipped",
        cancel=Code.CANCEL_SHIPPED,
        dispute=("not_received", Code.DISPUTE_TOO_EARLY),
        withdraw=Code.NO_DISPUTE,
    ),
    "07": dict(status="shipped", cancel=Code.CANCEL_SHIPPED, dispute=("not_received", Code.DISPUTE_ALLOWED)),
    "08": dict(status="delivered", dispute=("bad_quality", Code.DISPUTE_ALLOWED), refund=Code.NO_REFUND),
    "09": dict(status="completed", dispute=("bad_quality", Code.DISPUTE_PROTECTION_EXPIRED)),
    "10": dict(
        status="cancelled",
        cancelled_by="buyer",
        resume=Code.RESUME,
        cancellation_state="awaiting_seller",
        cancel=Code.CANCEL_ALREADY_REQUESTED,
    ),
    "11": dict(
        status="cancelled",
        cancelled_by="buyer",
        resume=Code.RESUME_SELLER_CONFIRMED,
        refund=Code.REFUND_PENDING,
        cancellation_state="confirmed",
    ),
    "12": dict(
        status="cancelled",
        cancelled_by="platform_fraud",
        resume=Code.RESUME_PLATFORM_FRAUD,
        refund=Code.REFUND_COMPLETED,
        cancel=Code.ALREADY_CANCELLED,
    ),
    "13": dict(
        status="delivered",
        dispute=("wrong_item", Code.DISPUTE_ALREADY_OPEN),
        dispute_status="open",
        withdraw=Code.WITHDRAW_ALLOWED,
    ),
    "14": dict(
        status="delivered",
        dispute=("not_as_described", Code.DISPUTE_REOPEN),
        dispute_status="withdrawn",
        withdraw=Code.DISPUTE_ALREADY_WITHDRAWN,
    ),
    "15": dict(
        status="completed", dispute=("damaged", Code.DISPUTE_REOPEN_WINDOW_CLOSED), dispute_status="withdrawn"
    ),
    "16": dict(
        status="completed",
        dispute=("not_as_described", Code.DISPUTE_ALREADY_RESOLVED),
        dispute_status="resolved_buyer",
        refund=Code.REFUND_COMPLETED,
        withdraw=Code.DISPUTE_RESOLVED,
    ),
    "17": dict(
        status="delivered",
        dispute=("bad_quality", Code.DISPUTE_ALREADY_RESOLVED),
        dispute_status="resolved_seller",
        refund=Code.NO_REFUND,
    ),
    "18": dict(
        status="shipped",
        dispute=("not_received", Code.DISPUTE_ALREADY_OPEN),
        dispute_status="escalated",
        withdraw=Code.WITHDRAW_ALLOWED,
    ),
    "19": dict(
        status="cancelled",
        cancelled_by="seller",
        resume=Code.RESUME_SELLER_CANCELLED,
        refund=Code.REFUND_COMPLETED,
    ),
}


def test_demo_table_lists_every_order() -> None:
    assert len(DEMO_ORDERS) == len(CUSTOMERS) * len(SCENARIOS) == 57
    assert {len(o.number) for o in DEMO_ORDERS} == {16}
    assert DEMO_ORDERS[2].number == "8170034500000003"
    table = demo_table_markdown()
    assert table.count("\n") == 57 + 1 and "`8170087700000019`" in table
    assert set(EXPECTED) == {code for code, _, _ in SCENARIOS}


def test_every_scenario_matches_its_description(demo: OrderService) -> None:
    for spec in CUSTOMERS:
        owner = customer_id(demo, spec.key)
        for scenario, expected in EXPECTED.items():
            order = number(spec.key, scenario)
            where = f"{spec.key} {scenario}"
            view = demo.get_order(order_number=order, customer_id=owner)
            assert view is not None, where
            assert view.currency == spec.currency, where
            assert view.status == expected["status"], where
            assert view.cancelled_by == expected.get("cancelled_by"), where
            if "cancellation_state" in expected:
                assert view.cancellation_state == expected["cancellation_state"], where
            if "cancel" in expected:
                assert (
                    demo.check_cancellation(order_number=order, customer_id=owner).code == expected["cancel"]
                ), where
            if "resume" in expected:
                assert demo.check_resume(order_number=order, customer_id=owner).code == expected["resume"], (
                    where
                )
            if "dispute" in expected:
                reason, code = expected["dispute"]
                assert (
                    demo.check_dispute(order_number=order, customer_id=owner, reason=reason).code == code
                ), where
            if "dispute_status" in expected:
                assert view.dispute is not None and view.dispute.status == expected["dispute_status"], where
            if "withdraw" in expected:
                assert (
                    demo.check_withdraw_dispute(order_number=order, customer_id=owner).code
                    == expected["withdraw"]
                ), where
            if "refund" in expected:
                assert demo.refund_status(order_number=order, customer_id=owner).code == expected["refund"], (
                    where
                )


def test_scenario_dates(demo: OrderService) -> None:
    owner = customer_id(demo, "oliver")

    def view(scenario: str) -> OrderView:
        found = demo.get_order(order_number=number("oliver", scenario), customer_id=owner)
        assert found is not None
        return found

    assert view("03").paid_at is not None and NOW - 2 * D < view("03").paid_at < NOW  # type: ignore[operator]
    assert view("04").cancellation.deadline == NOW + 48 * H  # type: ignore[union-attr]
    assert view("05").cancellation.deadline == NOW - H  # type: ignore[union-attr]
    assert view("07").estimated_delivery == NOW - 5 * D
    assert view("08").delivery_confirmed_at == NOW - 3 * D and view("08").protection_end > NOW  # type: ignore[operator]
    assert view("14").dispute.reopen_until == NOW + 10 * D  # type: ignore[union-attr]
    assert view("15").protection_end == NOW - 20 * D and view("15").delivery_confirmed_at == NOW - 30 * D
    assert view("16").refund.reason == "dispute"  # type: ignore[union-attr]
    carriers = {view(s).shipment.carrier for s in ("06", "07", "08", "09", "13")}  # type: ignore[union-attr]
    assert carriers == {"Cainiao", "AliExpress Standard Shipping", "DHL"}


def test_seed_is_idempotent(demo: OrderService, sessions: sessionmaker, clock: Clock) -> None:
    amina = customer_id(demo, "amina")
    demo.link_identity(customer_id=amina, channel="rest", external_id="tester")
    demo.request_cancellation(order_number=number("amina", "03"), customer_id=amina, idempotency_key="k1")
    ticket = demo.open_ticket(
        customer_id=amina, language="fr", intent="human", order_number=number("amina", "13")
    )
    first = table_counts(sessions)

    seed(sessions, clock.now)
    second = table_counts(sessions)
    assert customer_id(demo, "amina") == amina  # customers are upserted, ids are stable
    assert demo.customer_for_identity(channel="rest", external_id="tester") == amina  # kept
    assert (
        demo.check_cancellation(order_number=number("amina", "03"), customer_id=amina).code
        == Code.REQUEST_SELLER
    )
    assert second["idempotency_keys"] == 0  # answers about the old orders are forgotten
    assert second["cancellation_requests"] == first["cancellation_requests"] - 1
    kept_ticket = demo.get_ticket(number=ticket.data["ticket_number"])
    assert kept_ticket is not None and kept_ticket.order_number is None
    for table in (
        "customers",
        "sellers",
        "orders",
        "order_items",
        "shipments",
        "tracking_events",
        "disputes",
        "refunds",
    ):
        assert second[table] == first[table], table

    seed(sessions, clock.now)
    third = table_counts(sessions)
    assert {k: v for k, v in third.items() if k != "audit_log"} == {
        k: v for k, v in second.items() if k != "audit_log"
    }
    assert count(sessions, Customer) == 3 and count(sessions, ChannelIdentity) == 10


def test_deadline_job_approves_scenario_05_once(
    demo: OrderService, sessions: sessionmaker, clock: Clock
) -> None:
    outcomes = demo.process_deadlines()
    assert sorted(o.order_number for o in outcomes) == sorted(number(c.key, "05") for c in CUSTOMERS)
    by_number = {o.order_number: o for o in outcomes}
    wanjiku = by_number[number("wanjiku", "05")]
    assert (wanjiku.preferred_language, wanjiku.customer_name) == ("sw", "Wanjiku Kamau")
    assert ("telegram", "100002") in {(i.channel, i.external_id) for i in wanjiku.identities}
    assert (wanjiku.refund.status, wanjiku.refund.currency, wanjiku.refund.reason) == (
        "pending",
        "KES",
        "cancellation",
    )
    assert wanjiku.refund.expected_by == NOW.date() + timedelta(days=14)  # 10 business days

    assert demo.process_deadlines() == []  # second run: nothing left
    owner = customer_id(demo, "wanjiku")
    view = demo.get_order(order_number=number("wanjiku", "05"), customer_id=owner)
    assert view is not None and view.cancellation is not None
    assert (view.status, view.cancelled_by, view.cancellation.status) == (
        "cancelled",
        "buyer",
        "auto_approved",
    )
    assert demo.refund_status(order_number=view.number, customer_id=owner).code == Code.REFUND_PENDING
    assert demo.check_resume(order_number=view.number, customer_id=owner).code == Code.RESUME_SELLER_CONFIRMED
    assert count(sessions, Refund) == 3 * 4 + 3  # demo refunds (11, 12, 16, 19) plus the three new ones
    with sessions() as session:
        actors = (
            session.execute(select(AuditLog.actor).where(AuditLog.action == "cancellation.auto_approved"))
            .scalars()
            .all()
        )
    assert actors == ["system:deadline-job"] * 3

    # 04's request (48 h left) and 10's (60 h left) come due later, each exactly once.
    clock.advance(hours=48)
    assert sorted(o.order_number[-2:] for o in demo.process_deadlines()) == ["04", "04", "04"]
    clock.advance(hours=12)
    assert sorted(o.order_number[-2:] for o in demo.process_deadlines()) == ["10", "10", "10"]
    assert demo.process_deadlines() == []


def test_deadline_job_runs_concurrently(demo: OrderService, sessions: sessionmaker) -> None:
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def run() -> None:
        barrier.wait()
        results.append([o.order_number for o in demo.process_deadlines()])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    approved = sorted(n for batch in results for n in batch)
    assert len(results) == 4
    assert approved == sorted(number(c.key, "05") for c in CUSTOMERS)  # each exactly once
    with sessions() as session:
        rows = (
            session.execute(select(AuditLog).where(AuditLog.action == "cancellation.auto_approved"))
            .scalars()
            .all()
        )
    assert len(rows) == 3


@pytest.mark.parametrize("spec", CUSTOMERS, ids=[c.key for c in CUSTOMERS])
def test_demo_customers_can_verify_by_phone(demo: OrderService, spec: Any) -> None:
    owner = customer_id(demo, spec.key)
    assert demo.verify_owner(order_number=number(spec.key, "03"), contact=spec.phone) == owner
    assert demo.verify_owner(order_number=number(spec.key, "03"), contact=spec.email.upper()) == owner
