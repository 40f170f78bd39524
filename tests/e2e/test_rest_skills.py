"""Cancellation end to end through the REST channel in each language, checked in the order database
afterwards: a request is filed exactly once when the user says "yes" twice, and nothing at all when
the user says "no"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from actions.orders.db import make_engine

pytestmark = pytest.mark.needs_servers

# language -> (order to cancel, the owner's contact, what the user types)
YES = {
    "en": ("8170087700000003", "oliver.smith@example.co.uk",
           ["i want to cancel order {}", "i don't need it anymore", "yes", "yes"]),
    "fr": ("8170087700000002", "oliver.smith@example.co.uk",
           ["jveux annuler ma commande {}", "jen ai plus besoin", "oui", "oui"]),
    "sw": ("8170051200000003", "0712 345 678",
           ["nataka kufuta oda {}", "sihitaji tena", "ndiyo", "ndiyo"]),
}
FILED = {"en": "72 hours", "fr": "72 heures", "sw": "saa 72"}
# "No" files nothing, so the three languages can say it about the same order, one after the other.
NO_ORDER, NO_CONTACT = "8170051200000002", "0712 345 678"
NO = {"en": ["cancel my order {}", "i dont need it anymore", "no"],
      "fr": ["annuler la commande {} svp", "je nen ai plus besoin", "non"],
      "sw": ["nataka ku-cancel order {}", "sihitaji tena", "hapana"]}
NOTHING = {"en": "didn't file anything", "fr": "je n'ai rien envoyé", "sw": "sijatuma ombi lolote"}


def requests_for(servers, number: str) -> int:
    """Cancellation requests stored for the order, whatever their state."""
    engine = make_engine(servers.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT COUNT(*) FROM cancellation_requests c JOIN orders o ON o.id = c.order_id "
                "WHERE o.number = :number"), {"number": number}).scalar_one()
    finally:
        engine.dispose()


def converse(servers, sender: str, number: str, contact: str, messages: list[str]) -> list[str]:
    first, reason, *answers = messages
    servers.say(sender, first.format(number))
    servers.say(sender, contact)
    confirmation = servers.say(sender, reason)
    assert number in servers.text(confirmation) and any(r.get("buttons") for r in confirmation), confirmation
    return [servers.text(servers.say(sender, answer)) for answer in answers]


@pytest.mark.parametrize("language", YES)
def test_cancellation_is_filed_once_when_yes_is_sent_twice(servers, language):
    number, contact, messages = YES[language]
    before = requests_for(servers, number)
    first, second = converse(servers, f"rest-cancel-yes-{language}", number, contact, messages)
    assert FILED[language] in first
    assert FILED[language] not in second  # the second "yes" announces nothing new
    assert requests_for(servers, number) == before + 1


@pytest.mark.parametrize("language", NO)
def test_nothing_is_filed_when_the_user_says_no(servers, language):
    before = requests_for(servers, NO_ORDER)
    (reply,) = converse(servers, f"rest-cancel-no-{language}", NO_ORDER, NO_CONTACT, NO[language])
    assert NOTHING[language] in reply
    assert requests_for(servers, NO_ORDER) == before == 0
