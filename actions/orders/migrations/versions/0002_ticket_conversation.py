"""Support tickets know their conversation, queue, SLA and who handled them.

For the agent console: the conversation a chat ticket hands over (``conversation_id``, with the
existing ``channel``), the queue it waits in, where it came from (``chat`` or ``triage``, with the
triaged message's id, unique, and its reply address), the first-answer due time of its priority,
and the agent and moments of its first answer, hand-back and closing.

Existing tickets get the queue ``human``, the source ``chat`` and a due time of their creation
(they are overdue: nobody could answer them before). Enums are frozen here as value lists.

Revision ID: 0002_ticket_conversation
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ticket_conversation"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

QUEUES = ("cancellations", "disputes", "delivery", "refunds", "other", "human")
SOURCES = ("chat", "triage")
TABLE = "support_tickets"


def _one_of(column: str, choices: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in choices)})"


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        # Enums as in 0001: short strings with a CHECK constraint (added below, once filled).
        batch.add_column(sa.Column("queue", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("conversation_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("source_message_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(length=254), nullable=True))
        batch.add_column(_ts("due_at"))
        batch.add_column(sa.Column("agent", sa.String(length=64), nullable=True))
        batch.add_column(_ts("first_response_at"))
        batch.add_column(_ts("handed_back_at"))
        batch.add_column(_ts("closed_at"))
    tickets = sa.table(
        TABLE,
        sa.column("queue", sa.String()),
        sa.column("source", sa.String()),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.execute(tickets.update().values(queue="human", source="chat", due_at=tickets.c.created_at))
    with op.batch_alter_table(TABLE) as batch:
        batch.alter_column("queue", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("source", existing_type=sa.String(length=32), nullable=False)
        batch.create_check_constraint("ticket_queue", _one_of("queue", QUEUES))
        batch.create_check_constraint("ticket_source", _one_of("source", SOURCES))
        batch.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_unique_constraint(op.f(f"uq_{TABLE}_source_message_id"), ["source_message_id"])
        batch.create_index(op.f(f"ix_{TABLE}_conversation_id"), ["conversation_id"], unique=False)
        batch.create_index(op.f(f"ix_{TABLE}_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_index(op.f(f"ix_{TABLE}_due_at"))
        batch.drop_index(op.f(f"ix_{TABLE}_conversation_id"))
        batch.drop_constraint(op.f(f"uq_{TABLE}_source_message_id"), type_="unique")
        batch.drop_constraint(op.f(f"ck_{TABLE}_ticket_source"), type_="check")
        batch.drop_constraint(op.f(f"ck_{TABLE}_ticket_queue"), type_="check")
        for column in ("closed_at", "handed_back_at", "first_response_at", "agent", "due_at", "reply_to",
                       "source_message_id", "conversation_id", "source", "queue"):
            batch.drop_column(column)
