"""Table-driven tests of the pure business rules: every reason code is reached."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from actions.orders import rules
from actions.orders.enums import (
    CancellationStatus as CS,
)
from actions.orders.enums import (
    CancelledBy as By,
)
from actions.orders.enums import (
    DisputeReason as R,
)
from actions.orders.enums import (
    DisputeStatus as DS,
)
from actions.orders.enums import (
    OrderStatus as S,
)
from actions.orders.enums import (
    RefundStatus,
)
from actions.orders.rules import CancellationFacts, Code, DisputeFacts, OrderFacts

NOW = datetime(2025, 3, 12, 9, 30, tzinfo=timezone.utc)  # a Wednesday
H = timedelta(hours=1)
D = timedelta(days=1)

PENDING = CancellationFacts(CS.PENDING_SELLER, NOW - 24 * H, NOW + 48 * H)


def order(status: S, **facts: object) -> OrderFacts:
    return OrderFacts(status=status, **facts)  # type: ignore[arg-type]


def dispute(reason: R, status: DS, **facts: object) -> DisputeFacts:
    return DisputeFacts(reason=reason, status=status, opened_at=NOW - 10 * D, **facts)  # type: ignore[arg-type]


CANCEL_CASES = [
    ("unpaid", order(S.AWAITING_PAYMENT), True, Code.CANCEL_IMMEDIATELY),
    ("payment processing", order(S.PAYMENT_PROCESSING), True, Code.REQUEST_SELLER),
    ("paid", order(S.AWAITING_SHIPMENT), True, Code.REQUEST_SELLER),
    (
        "already requested",
        order(S.AWAITING_SHIPMENT, pending_cancellation=PENDING),
        False,
        Code.CANCEL_ALREADY_REQUESTED,
    ),
    (
        "cancelled, awaiting seller",
        order(S.CANCELLED, cancelled_by=By.BUYER, pending_cancellation=PENDING),
        False,
        Code.CANCEL_ALREADY_REQUESTED,
    ),
    ("shipped", order(S.SHIPPED), False, Code.CANCEL_SHIPPED),
    ("delivered", order(S.DELIVERED), False, Code.CANCEL_SHIPPED),
    ("completed", order(S.COMPLETED), False, Code.CANCEL_SHIPPED),
    ("cancelled", order(S.CANCELLED, cancelled_by=By.SELLER), False, Code.ALREADY_CANCELLED),
]


@pytest.mark.parametrize(("case", "facts", "allowed", "code"), CANCEL_CASES, ids=[c[0] for c in CANCEL_CASES])
def test_can_cancel(case: str, facts: OrderFacts, allowed: bool, code: str) -> None:
    decision = rules.can_cancel(facts, NOW)
    assert (decision.allowed, decision.code) == (allowed, code)


def test_can_cancel_facts() -> None:
    request = rules.can_cancel(order(S.AWAITING_SHIPMENT), NOW)
    assert request.facts["deadline"] == NOW + 72 * H and request.facts["seller_hours"] == 72
    already = rules.can_cancel(order(S.AWAITING_SHIPMENT, pending_cancellation=PENDING), NOW)
    assert already.facts == {"deadline": NOW + 48 * H, "hours_left": 48}
    shipped = rules.can_cancel(order(S.SHIPPED, protection_end=NOW + 20 * D), NOW)
    assert shipped.facts["dispute_reasons"] == list(R)  # every reason the dispute form offers
    assert shipped.facts["protection_end"] == NOW + 20 * D


RESUME_CASES = [
    (
        "awaiting seller confirmation",
        order(
            S.CANCELLED,
            cancelled_by=By.BUYER,
            previous_status=S.PAYMENT_PROCESSING,
            pending_cancellation=PENDING,
        ),
        True,
        Code.RESUME,
    ),
    (
        "request pending, not yet cancelled",
        order(S.AWAITING_SHIPMENT, pending_cancellation=PENDING),
        True,
        Code.RESUME,
    ),
    (
        "payment still processing",
        order(S.CANCELLED, cancelled_by=By.BUYER, previous_status=S.PAYMENT_PROCESSING),
        True,
        Code.RESUME,
    ),
    (
        "seller confirmed",
        order(
            S.CANCELLED,
            cancelled_by=By.BUYER,
            previous_status=S.AWAITING_SHIPMENT,
            cancellation_confirmed=True,
            refund_status=RefundStatus.PENDING,
        ),
        False,
        Code.RESUME_SELLER_CONFIRMED,
    ),
    (
        "processing but refunded",
        order(
            S.CANCELLED,
            cancelled_by=By.BUYER,
            previous_status=S.PAYMENT_PROCESSING,
            cancellation_confirmed=True,
            refund_status=RefundStatus.COMPLETED,
        ),
        False,
        Code.RESUME_SELLER_CONFIRMED,
    ),
    (
        "unpaid, cancelled at once",
        order(S.CANCELLED, cancelled_by=By.BUYER, previous_status=S.AWAITING_PAYMENT),
        False,
        Code.RESUME_UNPAID_CANCELLED,
    ),
    (
        "platform fraud",
        order(S.CANCELLED, cancelled_by=By.PLATFORM_FRAUD, refund_status=RefundStatus.COMPLETED),
        False,
        Code.RESUME_PLATFORM_FRAUD,
    ),
    (
        "platform fraud even if pending",
        order(S.CANCELLED, cancelled_by=By.PLATFORM_FRAUD, pending_cancellation=PENDING),
        False,
        Code.RESUME_PLATFORM_FRAUD,
    ),
    ("seller cancelled", order(S.CANCELLED, cancelled_by=By.SELLER), False, Code.RESUME_SELLER_CANCELLED),
    ("not cancelled", order(S.AWAITING_SHIPMENT), False, Code.NOT_CANCELLED),
    ("shipped", order(S.SHIPPED), False, Code.NOT_CANCELLED),
]


@pytest.mark.parametrize(("case", "facts", "allowed", "code"), RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_can_resume(case: str, facts: OrderFacts, allowed: bool, code: str) -> None:
    decision = rules.can_resume(facts, NOW)
    assert (decision.allowed, decision.code) == (allowed, code)


def test_can_resume_restores_previous_status() -> None:
    facts = order(
        S.CANCELLED, cancelled_by=By.BUYER, previous_status=S.PAYMENT_PROCESSING, pending_cancellation=PENDING
    )
    assert rules.can_resume(facts, NOW).facts["restore_status"] is S.PAYMENT_PROCESSING


SHIPPED = dict(estimated_delivery=NOW - 5 * D, protection_end=NOW + 10 * D)
DELIVERED_5D = dict(delivery_confirmed_at=NOW - 5 * D, protection_end=NOW + 10 * D)
DISPUTE_CASES = [
    ("not shipped", order(S.AWAITING_SHIPMENT), [], R.NOT_RECEIVED, False, Code.DISPUTE_NOT_SHIPPED),
    ("unpaid", order(S.AWAITING_PAYMENT), [], R.BAD_QUALITY, False, Code.DISPUTE_NOT_SHIPPED),
    (
        "cancelled",
        order(S.CANCELLED, cancelled_by=By.SELLER),
        [],
        R.BAD_QUALITY,
        False,
        Code.DISPUTE_ORDER_CANCELLED,
    ),
    ("shipped, late", order(S.SHIPPED, **SHIPPED), [], R.NOT_RECEIVED, True, Code.DISPUTE_ALLOWED),
    (
        "shipped, wrong tracking",
        order(S.SHIPPED, estimated_delivery=NOW + 5 * D),
        [],
        R.WRONG_TRACKING,
        True,
        Code.DISPUTE_ALLOWED,
    ),
    (
        "not received too early",
        order(S.SHIPPED, estimated_delivery=NOW + 5 * D),
        [],
        R.NOT_RECEIVED,
        False,
        Code.DISPUTE_TOO_EARLY,
    ),
    (
        "delivered, bad quality",
        order(S.DELIVERED, **DELIVERED_5D),
        [],
        R.BAD_QUALITY,
        True,
        Code.DISPUTE_ALLOWED,
    ),
    (
        "protection expired",
        order(S.COMPLETED, protection_end=NOW - D),
        [],
        R.BAD_QUALITY,
        False,
        Code.DISPUTE_PROTECTION_EXPIRED,
    ),
    (
        "already open",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.OPEN)],
        R.DAMAGED,
        False,
        Code.DISPUTE_ALREADY_OPEN,
    ),
    (
        "seller responded counts as open",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.SELLER_RESPONDED)],
        R.BAD_QUALITY,
        False,
        Code.DISPUTE_ALREADY_OPEN,
    ),
    (
        "escalated counts as open",
        order(S.SHIPPED, **SHIPPED),
        [dispute(R.NOT_RECEIVED, DS.ESCALATED)],
        R.NOT_RECEIVED,
        False,
        Code.DISPUTE_ALREADY_OPEN,
    ),
    (
        "resolved for buyer, same problem",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.RESOLVED_BUYER)],
        R.BAD_QUALITY,
        False,
        Code.DISPUTE_ALREADY_RESOLVED,
    ),
    (
        "resolved for seller, same problem",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.RESOLVED_SELLER)],
        R.BAD_QUALITY,
        False,
        Code.DISPUTE_ALREADY_RESOLVED,
    ),
    (
        "resolved, other problem",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.RESOLVED_SELLER)],
        R.WRONG_ITEM,
        True,
        Code.DISPUTE_ALLOWED,
    ),
    (
        "withdrawn, reopen in window",
        order(S.DELIVERED, **DELIVERED_5D),
        [dispute(R.BAD_QUALITY, DS.WITHDRAWN)],
        R.BAD_QUALITY,
        True,
        Code.DISPUTE_REOPEN,
    ),
    (
        "withdrawn, window closed",
        order(S.COMPLETED, delivery_confirmed_at=NOW - 30 * D, protection_end=NOW - 20 * D),
        [dispute(R.DAMAGED, DS.WITHDRAWN)],
        R.DAMAGED,
        False,
        Code.DISPUTE_REOPEN_WINDOW_CLOSED,
    ),
    (
        "withdrawn, unconfirmed, 15 days after protection",
        order(S.SHIPPED, estimated_delivery=NOW - 40 * D, protection_end=NOW - 10 * D),
        [dispute(R.NOT_RECEIVED, DS.WITHDRAWN)],
        R.NOT_RECEIVED,
        True,
        Code.DISPUTE_REOPEN,
    ),
    (
        "withdrawn, unknown dates, protection rules",
        order(S.SHIPPED, estimated_delivery=NOW - D),
        [dispute(R.NOT_RECEIVED, DS.WITHDRAWN)],
        R.NOT_RECEIVED,
        True,
        Code.DISPUTE_REOPEN,
    ),
    (
        "withdrawn, reopen too early",
        order(S.SHIPPED, estimated_delivery=NOW + 3 * D),
        [dispute(R.WRONG_TRACKING, DS.WITHDRAWN)],
        R.NOT_RECEIVED,
        False,
        Code.DISPUTE_TOO_EARLY,
    ),
]


@pytest.mark.parametrize(
    ("case", "facts", "history", "reason", "allowed", "code"),
    DISPUTE_CASES,
    ids=[c[0] for c in DISPUTE_CASES],
)
def test_can_open_dispute(
    case: str, facts: OrderFacts, history: list[DisputeFacts], reason: R, allowed: bool, code: str
) -> None:
    decision = rules.can_open_dispute(facts, history, reason, NOW)
    assert (decision.allowed, decision.code) == (allowed, code)


def test_dispute_facts() -> None:
    early = rules.can_open_dispute(order(S.SHIPPED, estimated_delivery=NOW + 5 * D), [], R.NOT_RECEIVED, NOW)
    assert early.facts == {"available_from": NOW + 5 * D}
    reopen = rules.can_open_dispute(
        order(S.DELIVERED, **DELIVERED_5D), [dispute(R.BAD_QUALITY, DS.WITHDRAWN)], R.BAD_QUALITY, NOW
    )
    assert reopen.facts["reopen_until"] == NOW + 10 * D
    not_shipped = rules.can_open_dispute(order(S.PAYMENT_PROCESSING), [], R.BAD_QUALITY, NOW)
    assert not_shipped.facts["suggest"] == "cancel_order"


def test_dispute_check_before_the_reason_is_known() -> None:
    """A chat asks which order first: the reason-independent rules apply, the others wait."""
    in_transit = order(S.SHIPPED, estimated_delivery=NOW + 5 * D)
    assert rules.can_open_dispute(in_transit, [], None, NOW).code == Code.DISPUTE_ALLOWED
    assert rules.can_open_dispute(in_transit, [], R.NOT_RECEIVED, NOW).code == Code.DISPUTE_TOO_EARLY
    decided = [dispute(R.BAD_QUALITY, DS.RESOLVED_SELLER)]
    check = rules.can_open_dispute(order(S.DELIVERED, **DELIVERED_5D), decided, None, NOW)
    assert (check.allowed, check.facts["resolved_reasons"], check.facts["resolved_outcome"]) == (
        True, [R.BAD_QUALITY], DS.RESOLVED_SELLER)
    same = rules.can_open_dispute(order(S.DELIVERED, **DELIVERED_5D), decided, R.BAD_QUALITY, NOW)
    assert same.code == Code.DISPUTE_ALREADY_RESOLVED
    for refused in (order(S.AWAITING_SHIPMENT), order(S.CANCELLED, cancelled_by=By.BUYER)):
        assert not rules.can_open_dispute(refused, [], None, NOW).allowed
    active = [dispute(R.NOT_RECEIVED, DS.OPEN)]
    assert rules.can_open_dispute(in_transit, active, None, NOW).code == Code.DISPUTE_ALREADY_OPEN


WITHDRAW_CASES = [
    ("open", dispute(R.BAD_QUALITY, DS.OPEN), True, Code.WITHDRAW_ALLOWED),
    ("seller responded", dispute(R.BAD_QUALITY, DS.SELLER_RESPONDED), True, Code.WITHDRAW_ALLOWED),
    ("escalated", dispute(R.NOT_RECEIVED, DS.ESCALATED), True, Code.WITHDRAW_ALLOWED),
    ("resolved for buyer", dispute(R.BAD_QUALITY, DS.RESOLVED_BUYER), False, Code.DISPUTE_RESOLVED),
    ("resolved for seller", dispute(R.BAD_QUALITY, DS.RESOLVED_SELLER), False, Code.DISPUTE_RESOLVED),
    (
        "withdrawn",
        dispute(R.BAD_QUALITY, DS.WITHDRAWN, withdrawn_at=NOW - D),
        False,
        Code.DISPUTE_ALREADY_WITHDRAWN,
    ),
    ("none", None, False, Code.NO_DISPUTE),
]


@pytest.mark.parametrize(
    ("case", "facts", "allowed", "code"), WITHDRAW_CASES, ids=[c[0] for c in WITHDRAW_CASES]
)
def test_can_withdraw_dispute(case: str, facts: DisputeFacts | None, allowed: bool, code: str) -> None:
    decision = rules.can_withdraw_dispute(facts)
    assert (decision.allowed, decision.code) == (allowed, code)


DEADLINE_CASES = [
    ("due 1 h ago", CancellationFacts(CS.PENDING_SELLER, NOW - 73 * H, NOW - H), True, Code.AUTO_APPROVE),
    ("due exactly now", CancellationFacts(CS.PENDING_SELLER, NOW - 72 * H, NOW), True, Code.AUTO_APPROVE),
    ("seller still has time", PENDING, False, Code.AWAITING_SELLER),
    (
        "already approved",
        CancellationFacts(CS.APPROVED, NOW - 80 * H, NOW - 8 * H),
        False,
        Code.REQUEST_NOT_PENDING,
    ),
    (
        "auto-approved before",
        CancellationFacts(CS.AUTO_APPROVED, NOW - 80 * H, NOW - 8 * H),
        False,
        Code.REQUEST_NOT_PENDING,
    ),
    (
        "withdrawn by buyer",
        CancellationFacts(CS.WITHDRAWN, NOW - 80 * H, NOW - 8 * H),
        False,
        Code.REQUEST_NOT_PENDING,
    ),
    ("rejected", CancellationFacts(CS.REJECTED, NOW - 80 * H, NOW - 8 * H), False, Code.REQUEST_NOT_PENDING),
]


@pytest.mark.parametrize(
    ("case", "facts", "allowed", "code"), DEADLINE_CASES, ids=[c[0] for c in DEADLINE_CASES]
)
def test_deadline_outcome(case: str, facts: CancellationFacts, allowed: bool, code: str) -> None:
    decision = rules.deadline_outcome(facts, NOW)
    assert (decision.allowed, decision.code) == (allowed, code)


def test_awaiting_seller_hours_left() -> None:
    assert rules.deadline_outcome(PENDING, NOW).facts["hours_left"] == 48


@pytest.mark.parametrize(
    ("approved", "earliest", "expected_by"),
    [
        (NOW, date(2025, 3, 17), date(2025, 3, 26)),  # Wednesday: +3 / +10 business days
        (datetime(2025, 3, 14, 18, 0, tzinfo=timezone.utc), date(2025, 3, 19), date(2025, 3, 28)),  # Friday
        (datetime(2025, 3, 15, 8, 0, tzinfo=timezone.utc), date(2025, 3, 19), date(2025, 3, 28)),  # Saturday
    ],
)
def test_refund_expectation(approved: datetime, earliest: date, expected_by: date) -> None:
    assert rules.refund_expectation(approved) == rules.RefundExpectation(earliest, expected_by)


@pytest.mark.parametrize(
    ("confirmed", "protection_end", "expected"),
    [
        (NOW, NOW + 15 * D, NOW + 15 * D),
        (None, NOW, NOW + 15 * D),
        (None, None, None),
    ],
)
def test_reopen_deadline(
    confirmed: datetime | None, protection_end: datetime | None, expected: datetime | None
) -> None:
    assert rules.reopen_deadline(confirmed, protection_end) == expected


def test_cancellation_deadline_is_72_hours() -> None:
    assert rules.cancellation_deadline(NOW) == NOW + 72 * H


def test_every_rule_code_is_reached() -> None:
    names = [name for name in vars(Code) if name.isupper()]
    rule_codes = {getattr(Code, name) for name in names[: names.index("ORDER_NOT_FOUND")]}
    reached = {c[-1] for c in CANCEL_CASES + RESUME_CASES + DISPUTE_CASES + WITHDRAW_CASES + DEADLINE_CASES}
    assert rule_codes - reached == set()


def test_rules_module_is_pure() -> None:
    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"sqlalchemy", "alembic", "psycopg2", "rasa", "rasa_sdk"}


def test_every_refusal_a_rule_can_give_is_listed() -> None:
    """``rules.REFUSALS`` is what the bot must explain: every refuse() in this module is in it."""
    source = Path(rules.__file__).read_text()
    refused = set(re.findall(r"Decision\.refuse\(\s*Code\.([A-Z_]+)", source))
    listed = {name for name, value in vars(Code).items() if isinstance(value, str) and value in rules.REFUSALS}
    # not said to a buyer: the deadline job's and the agent console's own refusals
    assert refused - {"REQUEST_NOT_PENDING", "AWAITING_SELLER", "TICKET_TRANSITION_NOT_ALLOWED"} == listed
