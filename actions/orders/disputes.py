"""Opening, reopening and withdrawing disputes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from . import rules
from .contacts import (
    reference,
)
from .core import (
    _decision_result,
    _invalid,
    _Op,
    _parse_enum,
    _Tx,
)
from .enums import (
    DisputeReason,
    DisputeStatus,
)
from .models import (
    Dispute,
    DisputeEvent,
    Order,
)
from .projections import (
    current_dispute,
    dispute_facts,
    order_facts,
    reopen_until,
)
from .rules import Code
from .views import (
    Result,
)


class DisputesMixin:
    # --- disputes -------------------------------------------------------------------------

    @staticmethod
    def _evaluate_dispute(order: Order, now: datetime, reason: DisputeReason | None) -> Result:
        decision = rules.can_open_dispute(
            order_facts(order), [dispute_facts(d) for d in order.disputes], reason, now
        )
        current = current_dispute(order)
        if decision.code == Code.DISPUTE_ALREADY_OPEN and current is not None:
            same = current.reason is reason
            found = {"dispute_id": current.id, "reference": reference("dispute", current.id)}
            return _decision_result(decision, order.number, duplicate=same, **found)
        return _decision_result(decision, order.number)

    def check_dispute(self, *, order_number: str, customer_id: int, reason: str | None = None) -> Result:
        """``reason=None``: may a dispute be opened on this order at all (asked before the reason)."""
        parsed = None if reason is None else _parse_enum(DisputeReason, reason)
        if reason is not None and parsed is None:
            return _invalid(Code.INVALID_REASON, "reason", reason, DisputeReason)
        return self._check(order_number, customer_id, partial(self._evaluate_dispute, reason=parsed))

    def open_dispute(
        self,
        *,
        order_number: str,
        customer_id: int,
        reason: str | DisputeReason,
        description: str = "",
        evidence: Sequence[str] = (),
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Open (or, after a withdrawal, reopen) a dispute on a shipped order."""
        parsed = _parse_enum(DisputeReason, reason)
        if parsed is None:
            return _invalid(Code.INVALID_REASON, "reason", reason, DisputeReason)
        refs = [str(e) for e in evidence]

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_dispute(order, tx.now, parsed)
            if not verdict.ok:
                return verdict
            reopening = verdict.code == Code.DISPUTE_REOPEN
            kind = "reopened" if reopening else "opened"
            dispute = Dispute(
                reason=parsed,
                description=description,
                evidence=refs,
                status=DisputeStatus.OPEN,
                opened_at=tx.now,
                events=[DisputeEvent(at=tx.now, kind=kind, actor=tx.actor, note=description)],
            )
            order.disputes.append(dispute)
            tx.session.flush()
            tx.audit(
                f"dispute.{kind}",
                "dispute",
                dispute.id,
                {"order_number": order.number, "reason": parsed, "evidence": refs},
            )
            return Result.of(
                True,
                Code.DISPUTE_REOPENED if reopening else Code.DISPUTE_OPENED,
                order_number=order.number,
                dispute_id=dispute.id,
                reference=reference("dispute", dispute.id),
                reason=parsed,
                status=dispute.status,
            )

        return self._order_write(
            operation=_Op.OPEN_DISPUTE,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )

    @staticmethod
    def _evaluate_withdraw(order: Order, now: datetime) -> Result:
        current = current_dispute(order)
        decision = rules.can_withdraw_dispute(dispute_facts(current) if current is not None else None)
        extra: dict[str, Any] = {}
        if current is not None:
            extra["dispute_id"] = current.id
            extra["reference"] = reference("dispute", current.id)
        if decision.allowed:
            extra["reopen_until"] = reopen_until(order)
        return _decision_result(decision, order.number, **extra)

    def check_withdraw_dispute(self, *, order_number: str, customer_id: int) -> Result:
        return self._check(order_number, customer_id, self._evaluate_withdraw)

    def withdraw_dispute(
        self,
        *,
        order_number: str,
        customer_id: int,
        idempotency_key: str | None = None,
        channel: str = "unknown",
    ) -> Result:
        """Cancel the open dispute.  ``data.reopen_until``: last moment to reopen it (or None)."""

        def apply(tx: _Tx, order: Order) -> Result:
            verdict = self._evaluate_withdraw(order, tx.now)
            if not verdict.ok:
                return verdict
            dispute = current_dispute(order)
            assert dispute is not None
            dispute.status = DisputeStatus.WITHDRAWN
            dispute.withdrawn_at = tx.now
            dispute.events.append(DisputeEvent(at=tx.now, kind="withdrawn", actor=tx.actor, note=""))
            tx.audit("dispute.withdrawn", "dispute", dispute.id, {"order_number": order.number})
            return Result.of(
                True,
                Code.DISPUTE_WITHDRAWN,
                order_number=order.number,
                dispute_id=dispute.id,
                reference=reference("dispute", dispute.id),
                reopen_until=reopen_until(order),
            )

        return self._order_write(
            operation=_Op.WITHDRAW_DISPUTE,
            order_number=order_number,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            channel=channel,
            apply=apply,
        )
