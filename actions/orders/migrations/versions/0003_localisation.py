"""Localisation: customers' regional settings and tracking milestone codes.

* ``customers.locale`` (CLDR, e.g. ``fr_SN``) and ``customers.time_zone`` (IANA, e.g.
  ``Africa/Dakar``): dates and amounts are written the way the customer reads them. Existing
  customers get them from their country and preferred language where both are known.
* ``tracking_events.code``: what a carrier scan means (``customs_cleared``...), so the bot can say
  it in the buyer's language; ``description`` stays as the carrier's own wording. Existing events
  get the code their English description names, else ``in_transit``.

The tables below are frozen copies (a migration must not change when the code does).

Revision ID: 0003_localisation
Revises: 0002_ticket_conversation
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_localisation"
down_revision = "0002_ticket_conversation"
branch_labels = None
depends_on = None

MILESTONES = (
    "shipped",
    "at_sorting_center",
    "departed_origin",
    "arrived_destination",
    "customs_cleared",
    "out_for_delivery",
    "delivered",
    "in_transit",
)
# Carrier wordings seen so far -> code (first match wins; compared lower-case, as substrings).
DESCRIPTION_CODES = (
    ("out for delivery", "out_for_delivery"),
    ("delivered", "delivered"),
    ("customs", "customs_cleared"),
    ("destination country", "arrived_destination"),
    ("departed", "departed_origin"),
    ("sorting", "at_sorting_center"),
    ("shipped", "shipped"),
)
# Country -> time zone (countries with one zone, where the assistant's customers live).
COUNTRY_ZONES = {
    "SN": "Africa/Dakar",
    "CI": "Africa/Abidjan",
    "ML": "Africa/Bamako",
    "BF": "Africa/Ouagadougou",
    "CM": "Africa/Douala",
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "KE": "Africa/Nairobi",
    "TZ": "Africa/Dar_es_Salaam",
    "UG": "Africa/Kampala",
    "RW": "Africa/Kigali",
    "NG": "Africa/Lagos",
    "GH": "Africa/Accra",
    "ZA": "Africa/Johannesburg",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
}
# language_COUNTRY combinations CLDR knows, among those countries.
LOCALES = frozenset(
    {
        "en_BE", "en_CM", "en_GB", "en_GH", "en_IE", "en_KE", "en_NG", "en_RW", "en_TZ", "en_UG",
        "en_ZA", "fr_BE", "fr_BF", "fr_CI", "fr_CM", "fr_FR", "fr_ML", "fr_RW", "fr_SN", "sw_KE",
        "sw_TZ", "sw_UG",
    }
)  # fmt: skip


def _backfill_customers(connection: sa.engine.Connection) -> None:
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer),
        sa.column("country", sa.String),
        sa.column("preferred_language", sa.String),
        sa.column("locale", sa.String),
        sa.column("time_zone", sa.String),
    )
    rows = connection.execute(sa.select(customers.c.id, customers.c.country, customers.c.preferred_language))
    for row in rows.fetchall():
        country = (row.country or "").upper()
        locale = f"{row.preferred_language}_{country}"
        values = {
            "locale": locale if locale in LOCALES else None,
            "time_zone": COUNTRY_ZONES.get(country),
        }
        if any(values.values()):
            connection.execute(customers.update().where(customers.c.id == row.id).values(**values))


def _backfill_milestones(connection: sa.engine.Connection) -> None:
    description = sa.func.lower(sa.column("description"))
    code = sa.case(
        *((description.like(f"%{text}%"), value) for text, value in DESCRIPTION_CODES), else_="in_transit"
    )
    connection.execute(sa.table("tracking_events", sa.column("code")).update().values(code=code))


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tracking_events") as batch:
        batch.add_column(sa.Column("code", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    _backfill_customers(connection)
    _backfill_milestones(connection)
    allowed = ", ".join(f"'{m}'" for m in MILESTONES)
    with op.batch_alter_table("tracking_events") as batch:
        batch.alter_column("code", existing_type=sa.String(length=32), nullable=False)
        batch.create_check_constraint(op.f("ck_tracking_events_tracking_milestone"), f"code IN ({allowed})")


def downgrade() -> None:
    with op.batch_alter_table("tracking_events") as batch:
        batch.drop_constraint(op.f("ck_tracking_events_tracking_milestone"), type_="check")
        batch.drop_column("code")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("locale")
