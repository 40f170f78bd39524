"""The skills: which intent asks for one, which form collects it, which action does it.

One home for that mapping: the follow-up actions (a "yes" to an offer, an order number typed on its
own), the hand-over ticket's priority and the domain (tested in ``tests/unit/test_domain.py``) all
read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skill:
    intent: str
    form: str
    action: str
    writes: bool  # a write asks for an explicit yes and is filed once
    priority: str  # of the support ticket when a person takes over this skill


SKILLS = (
    Skill("order_status", "status_form", "action_order_status", False, "normal"),
    Skill("order_not_received", "delivery_form", "action_order_not_received", False, "high"),
    Skill("refund_status", "refund_form", "action_refund_status", False, "normal"),
    Skill("cancel_order", "cancel_form", "action_cancel_order", True, "normal"),
    Skill("restore_order", "restore_form", "action_restore_order", True, "high"),
    Skill("open_dispute", "dispute_form", "action_open_dispute", True, "high"),
    Skill("cancel_dispute", "withdraw_form", "action_withdraw_dispute", True, "high"),
)
BY_INTENT = {skill.intent: skill for skill in SKILLS}
BY_FORM = {skill.form: skill for skill in SKILLS}
BY_ACTION = {skill.action: skill for skill in SKILLS}
