"""(d) Two Rasa servers (each with its action server) behind a load balancer that sends the turns of
one conversation alternately to both: a PostgreSQL tracker store and a Redis lock store shared by
the two, the orders in PostgreSQL. No event may be lost, duplicated or reordered, including when
two messages of one conversation reach the two servers at the same moment (the Redis lock makes
the second wait for the first).

PostgreSQL: the private throw-away cluster of ``tests/orders/conftest.py``; Redis: a private
``redis-server`` (Debian's package, installed when missing and we are root) on a free port.
"""

from __future__ import annotations

import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.helpers import LANGUAGES, identify, order_state
from tests.reliability.stack import ROOT, Stack, text

sys.path.insert(0, str(ROOT / "tests" / "orders"))  # the fixture module imports its helpers by name
from tests.orders.conftest import postgres_server  # noqa: E402,F401  (fixture, reused as is)

pytestmark = [pytest.mark.needs_servers, pytest.mark.needs_postgres]

SERVERS = ("rasa-a", "rasa-b")
CONVERSATIONS = {
    "en": [["I want to cancel my order 8170087700000003", "oliver.smith@example.co.uk", "I don't need it anymore", "yes"],
           ["hi, where is my order 8170087700000006?", "oliver.smith@example.co.uk", "thanks"]],
    "fr": [["je veux annuler ma commande 8170034500000003", "amina.diallo@example.com", "je n'en ai plus besoin", "oui"],
           ["bonjour, ou est ma commande 8170034500000006 stp", "amina.diallo@example.com", "merci"]],
    "sw": [["nataka kufuta oda 8170051200000003", "0712 345 678", "sihitaji tena", "ndiyo"],
           ["habari, oda yangu 8170051200000006 iko wapi?", "0712 345 678", "asante"]],
}
TOGETHER = ("hello", "thank you")  # one to each server at the same time


@pytest.fixture(scope="module")
def cluster(postgres_server, redis_port, tmp_path_factory):  # noqa: F811 - the imported fixture
    stack = Stack(
        tmp_path_factory.mktemp("cluster"),
        database_url=postgres_server.create_database("orders"),
        tracker_store_url=postgres_server.create_database("tracker"),
        # Rasa's own `type: redis` drops or interleaves simultaneous messages (see bot/lock_store.py).
        lock_store={"type": "bot.lock_store.AtomicRedisLockStore", "url": "127.0.0.1", "port": redis_port, "db": 0,
                    "key_prefix": "reliability"},
    )
    for name in SERVERS:
        actions = stack.add_actions(f"actions-{name[-1]}")
        stack.add_rasa(name, actions=actions.name)
    try:
        stack.start(timeout=420)
        yield stack
    finally:
        stack.stop()


def user_turns(events: list[dict]) -> list[tuple[str, list[str], str]]:
    """(user text, bot texts, last event) for every user message, in tracker order."""
    turns: list[tuple[str, list[str], str]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event.get("text"), [], "user"))
        elif turns:
            said, bot, _ = turns[-1]
            if event["event"] == "bot":
                bot = bot + [event.get("text") or ""]
            turns[-1] = (said, bot, f"{event['event']}:{event.get('name') or ''}")
    return turns


@pytest.mark.timeout(600)
def test_two_servers_alternate_turns_without_losing_duplicating_or_reordering(cluster):
    conversations = [(lang, i, turns) for lang in LANGUAGES for i, turns in enumerate(CONVERSATIONS[lang])]
    run = uuid.uuid4().hex[:8]

    def converse(item):
        lang, i, turns = item
        sender = f"cluster-{lang}-{i}-{run}"
        sent = []
        for k, message in enumerate(turns):
            server = SERVERS[(i + k) % 2]
            sent.append((message, text(cluster.say(sender, message, rasa=server))))
        with ThreadPoolExecutor(2) as pool:  # the same conversation on both servers at once
            together = list(pool.map(lambda pair: (pair[1], text(cluster.say(sender, pair[1], rasa=pair[0]))),
                                     zip(SERVERS, TOGETHER, strict=True)))
        return sender, sent, together

    with ThreadPoolExecutor(len(conversations)) as pool:
        results = list(pool.map(converse, conversations))

    for sender, sent, together in results:
        trackers = [cluster.tracker(sender, rasa=server) for server in SERVERS]
        assert trackers[0]["events"] == trackers[1]["events"], sender  # one store, one history
        events = trackers[0]["events"]
        stamps = [event["timestamp"] for event in events]
        assert stamps == sorted(stamps), sender  # nothing reordered
        keys = [(e["event"], e["timestamp"], e.get("name"), e.get("text")) for e in events]
        assert len(keys) == len(set(keys)), sender  # nothing duplicated
        turns = user_turns(events)
        # Every message exactly once, each turn complete before the next one started (no interleaving)
        # and answered with exactly what its HTTP response said.
        assert [said for said, _, _ in turns[: len(sent)]] == [message for message, _ in sent], sender
        assert sorted(said for said, _, _ in turns[len(sent):]) == sorted(TOGETHER), sender
        assert all(last == "action:action_listen" for _, _, last in turns), (sender, turns)
        answers = dict(sent + together)
        for said, bot, _ in turns:
            assert "\n".join(bot) == answers[said], (sender, said, bot, answers[said])

    filed = {sender: [identify(line) for _, answer in sent for line in answer.split("\n")]
             for sender, sent, _ in results}
    for lang in LANGUAGES:  # the cancellation went through once, whichever server ran it
        state = order_state(cluster.database_url, CONVERSATIONS[lang][0][0].split()[-1])
        assert [status for _, status, _ in state["requests"]] == ["pending_seller"], (lang, state)
        sender = next(s for s in filed if s.startswith(f"cluster-{lang}-0-"))
        assert [m.response for m in filed[sender] if m and m.response == "utter_cancel_requested"] == \
            ["utter_cancel_requested"], filed[sender]
