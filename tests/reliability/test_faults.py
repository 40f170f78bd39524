"""Faults in the middle of a cancellation, in the three languages at once.

(a) the action server crashes, or the order database becomes unreachable, just before the user's
    "yes": the user is told in their language that nothing was filed, nothing is written, and the
    same conversation completes once the dependency is back;
(b) the Rasa server is killed in the middle of the form: the conversation resumes at the same
    question (SQL tracker store, SQLite by default);
(c) the same message delivered twice (a channel retry), a double "yes" (sequential, concurrent,
    and the submit action's HTTP call replayed): exactly one cancellation request.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from tests.reliability.helpers import LANGUAGES, languages, order_state, responses
from tests.reliability.stack import Stack

pytestmark = pytest.mark.needs_servers

# Demo scenario 03 of each customer: paid, awaiting shipment, cancellable by a request to the seller.
CANCEL = {
    "en": {"order": "8170087700000003", "yes": "yes", "again": "I want to cancel my order",
           "turns": ["I want to cancel my order 8170087700000003", "oliver.smith@example.co.uk",
                     "I don't need it anymore"]},
    "fr": {"order": "8170034500000003", "yes": "oui", "again": "je veux annuler ma commande",
           "turns": ["je veux annuler ma commande 8170034500000003", "amina.diallo@example.com",
                     "je n'en ai plus besoin"]},
    "sw": {"order": "8170051200000003", "yes": "ndiyo", "again": "nataka kufuta oda yangu",
           "turns": ["nataka kufuta oda 8170051200000003", "0712 345 678", "sihitaji tena"]},
}
ASK_CONTACT, ASK_REASON, ASK_CONFIRM = "utter_ask_contact", "utter_ask_cancel_reason", "utter_ask_cancel_form_confirmed"
FILED, UNAVAILABLE = "utter_cancel_requested", "utter_service_unavailable"


def each_language(function):
    """Runs ``function(lang)`` for the three languages concurrently; {lang: result}."""
    with ThreadPoolExecutor(len(LANGUAGES)) as pool:
        return dict(zip(LANGUAGES, pool.map(function, LANGUAGES), strict=True))


def senders(test: str) -> dict[str, str]:
    return {lang: f"{test}-{lang}-{uuid.uuid4().hex[:8]}" for lang in LANGUAGES}


def expect(replies: list[dict], lang: str, *names: str) -> None:
    found = responses(replies)
    assert all(name in found for name in names), (lang, names, replies)
    assert languages(replies) == {lang}, (lang, replies)


def up_to(stack: Stack, sender: str, lang: str, turns: int) -> list[dict]:
    replies: list[dict] = []
    for message in CANCEL[lang]["turns"][:turns]:
        replies = stack.say(sender, message)
    return replies


def to_confirmation(stack: Stack, sender: str, lang: str) -> None:
    expect(up_to(stack, sender, lang, 3), lang, ASK_CONFIRM)


def filed_once(stack: Stack, lang: str) -> None:
    state = order_state(stack.database_url, CANCEL[lang]["order"])
    assert [status for _, status, _ in state["requests"]] == ["pending_seller"], state
    assert len(state["idempotency_keys"]) == 1, state


@contextmanager
def database_unreachable(database_url: str):
    """Another process holds the order database's write lock for longer than the service waits for
    it (``SQLITE_BUSY_TIMEOUT_MS``): the SQLite form of an order database that cannot take a write.
    Moving the file aside no longer makes it unreachable: the action server keeps its connections
    open (actions/orders/db.py), and they would write into the moved file."""
    connection = sqlite3.connect(make_url(database_url).database, isolation_level=None, timeout=5)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


@pytest.mark.timeout(240)
def test_action_server_down_during_cancellation(seeded):
    stack, who = seeded, senders("actions-down")
    each_language(lambda lang: to_confirmation(stack, who[lang], lang))
    before = {lang: order_state(stack.database_url, CANCEL[lang]["order"]) for lang in LANGUAGES}

    stack["actions"].kill()
    try:
        # Rasa alone would answer nothing at all here ([]): bot/rasa_ext/action_failures.py makes it say so.
        for _ in range(2):  # the user insists while the server is still down
            replies = each_language(lambda lang: stack.say(who[lang], CANCEL[lang]["yes"]))
            for lang in LANGUAGES:
                expect(replies[lang], lang, UNAVAILABLE, ASK_CONFIRM)
                assert order_state(stack.database_url, CANCEL[lang]["order"]) == before[lang]
    finally:
        stack["actions"].start()
        stack["actions"].wait_ready(120)

    # The "yes" given during the outage was not kept: the question is asked again, then filed.
    replies = each_language(lambda lang: stack.say(who[lang], CANCEL[lang]["yes"]))
    for lang in LANGUAGES:
        expect(replies[lang], lang, FILED)
        filed_once(stack, lang)


@pytest.mark.timeout(300)
def test_order_database_unreachable_during_cancellation(seeded):
    stack, who = seeded, senders("db-down")
    each_language(lambda lang: to_confirmation(stack, who[lang], lang))
    before = {lang: order_state(stack.database_url, CANCEL[lang]["order"]) for lang in LANGUAGES}

    with database_unreachable(stack.database_url):
        replies = each_language(lambda lang: stack.say(who[lang], CANCEL[lang]["yes"]))
        for lang in LANGUAGES:
            expect(replies[lang], lang, UNAVAILABLE)
            assert FILED not in responses(replies[lang])
    for lang in LANGUAGES:
        assert order_state(stack.database_url, CANCEL[lang]["order"]) == before[lang]  # nothing half-written

    # Same conversation, database back: the order is remembered. (The e-mail/phone is asked again
    # although the conversation is verified: forms.required_slots keeps the domain's `contact`.)
    def complete(lang: str) -> None:
        replies = stack.say(who[lang], CANCEL[lang]["again"])
        if ASK_CONTACT in responses(replies):
            replies = stack.say(who[lang], CANCEL[lang]["turns"][1])
        expect(replies, lang, ASK_REASON)
        expect(stack.say(who[lang], CANCEL[lang]["turns"][2]), lang, ASK_CONFIRM)
        expect(stack.say(who[lang], CANCEL[lang]["yes"]), lang, FILED)

    each_language(complete)
    for lang in LANGUAGES:
        filed_once(stack, lang)


@pytest.mark.timeout(420)
def test_rasa_server_restart_in_the_middle_of_a_form(seeded):
    stack, who = seeded, senders("rasa-restart")
    each_language(lambda lang: expect(up_to(stack, who[lang], lang, 2), lang, ASK_REASON))
    before = {lang: stack.tracker(who[lang]) for lang in LANGUAGES}

    stack["rasa"].kill()  # a crash: nothing is flushed on purpose
    stack["rasa"].start()
    stack["rasa"].wait_ready(400)

    for lang in LANGUAGES:
        after = stack.tracker(who[lang])
        assert after["active_loop"].get("name") == "cancel_form", after["active_loop"]
        assert after["slots"]["requested_slot"] == "cancel_reason"
        assert after["slots"]["order_id"] == CANCEL[lang]["order"]
        assert after["events"] == before[lang]["events"]

    def complete(lang: str) -> None:
        expect(stack.say(who[lang], CANCEL[lang]["turns"][2]), lang, ASK_CONFIRM)
        expect(stack.say(who[lang], CANCEL[lang]["yes"]), lang, FILED)

    each_language(complete)
    for lang in LANGUAGES:
        filed_once(stack, lang)


@pytest.mark.timeout(240)
def test_retried_message_and_double_yes_file_one_request(seeded):
    stack, who = seeded, senders("retry")

    def conversation(lang: str) -> list[list[dict]]:
        turns = CANCEL[lang]["turns"]
        stack.say(who[lang], turns[0])
        stack.say(who[lang], turns[1])
        expect(stack.say(who[lang], turns[2]), lang, ASK_CONFIRM)
        stack.say(who[lang], turns[2])  # the channel delivers the reason again
        with ThreadPoolExecutor(2) as pool:  # "yes" delivered twice at the same time
            double = list(pool.map(lambda _: stack.say(who[lang], CANCEL[lang]["yes"]), range(2)))
        late = stack.say(who[lang], CANCEL[lang]["yes"])  # and once more, late
        return [*double, late]

    results = each_language(conversation)
    for lang in LANGUAGES:
        filed = [replies for replies in results[lang] if FILED in responses(replies)]
        assert len(filed) == 1, (lang, results[lang])
        assert all(languages(replies) <= {lang} for replies in results[lang]), results[lang]
        filed_once(stack, lang)


@pytest.mark.timeout(180)
def test_replayed_submit_action_is_idempotent(seeded):
    """Rasa crashing after the submit action ran but before saving the tracker, then the channel
    retrying: the action server receives the same call twice. One request, the same answer."""
    stack, sender = seeded, f"replay-{uuid.uuid4().hex[:8]}"
    to_confirmation(stack, sender, "en")
    tracker = stack.tracker(sender)
    tracker["slots"]["confirmed"] = True
    body = json.dumps({"next_action": "action_cancel_order", "sender_id": sender, "tracker": tracker,
                       "domain": {}, "version": "3.6.21"}).encode()
    url = f"http://127.0.0.1:{stack['actions'].port}/webhook"

    def call() -> dict:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    first, second = call(), call()
    assert [r.get("response") for r in first["responses"]] == [FILED]
    assert second["responses"] == first["responses"]  # same reference, same deadline
    filed_once(stack, "en")
