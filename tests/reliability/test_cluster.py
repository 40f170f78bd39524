"""(d) Two Rasa servers (each with its action server) behind nginx, as ``make run`` starts them with
``RASA_WORKERS=2`` (``bot/cluster.py``): a PostgreSQL tracker store and a Redis lock store shared by
the two, the orders in PostgreSQL. No event may be lost, duplicated or reordered, whether the turns
of a conversation are sent alternately to both servers or through the proxy, including when two
messages of one conversation reach the two servers at the same moment (the Redis lock makes the
second wait for the first). Through the proxy, long-polling web chats stay on the server that holds
their session, and an agent's answer sent from the other server reaches the customer's socket
(socket.io's Redis message queue).

PostgreSQL: the private throw-away cluster of ``tests/orders/conftest.py``; Redis: a private
``redis-server``; nginx: Debian's package (``make services`` installs all three; in CI a missing
one fails the tests).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.cluster import lock_store
from tests.e2e.socketio_wire import WireClient
from tests.reliability.helpers import LANGUAGES, identify, order_state
from tests.reliability.stack import ROOT, TOKEN, Stack, seed_orders, text

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
AGENT_PASSWORD = "cluster-agent-password"


@pytest.fixture(scope="module")
def cluster(postgres_server, redis_port, nginx, tmp_path_factory):  # noqa: F811 - the imported fixture
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    stack = Stack(
        tmp_path_factory.mktemp("cluster"),
        database_url=postgres_server.create_database("orders"),
        tracker_store_url=postgres_server.create_database("tracker"),
        # Rasa's own `type: redis` drops or interleaves simultaneous messages (see bot/lock_store.py).
        lock_store=lock_store(redis_url, key_prefix="reliability"),
        extra_env={"REDIS_URL": redis_url, "AGENT_CONSOLE_PASSWORD": AGENT_PASSWORD},  # REDIS_URL: socket.io's queue
    )
    for name in SERVERS:
        actions = stack.add_actions(f"actions-{name[-1]}")
        stack.add_rasa(name, actions=actions.name, behind_proxy=True)
    stack.add_proxy(list(SERVERS), access_log=True)
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


def play(cluster: Stack, route) -> list[tuple[str, list, list]]:  # noqa: ANN001 - route: (i, k) -> server name
    """Plays every conversation of CONVERSATIONS at once, turn k of conversation i sent to
    ``route(i, k)``, then the TOGETHER pair of each at the same moment (to the two servers, or twice
    through the proxy). (sender, [(message, answer)], [(message, answer)])."""
    conversations = [(lang, i, turns) for lang in LANGUAGES for i, turns in enumerate(CONVERSATIONS[lang])]
    run = uuid.uuid4().hex[:8]

    def converse(item):
        lang, i, turns = item
        sender = f"cluster-{lang}-{i}-{run}"
        sent = []
        for k, message in enumerate(turns):
            sent.append((message, text(cluster.say(sender, message, rasa=route(i, k)))))
        with ThreadPoolExecutor(2) as pool:  # the same conversation twice at once
            together = list(pool.map(lambda pair: (pair[1], text(cluster.say(sender, pair[1], rasa=pair[0]))),
                                     [(route(i, k), message) for k, message in enumerate(TOGETHER)]))
        return sender, sent, together

    with ThreadPoolExecutor(len(conversations)) as pool:
        return list(pool.map(converse, conversations))


def check(cluster: Stack, results: list[tuple[str, list, list]]) -> None:
    """One history per conversation, nothing lost, duplicated, reordered or interleaved; the
    cancellation filed once in each language."""
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


@pytest.mark.timeout(600)
def test_two_servers_alternate_turns_without_losing_duplicating_or_reordering(cluster):
    results = play(cluster, lambda i, k: SERVERS[(i + k) % 2])
    check(cluster, results)


@pytest.mark.timeout(600)
def test_through_the_proxy_turns_spread_over_both_servers_without_losing_duplicating_or_reordering(cluster):
    before = len(cluster.served_by())
    seed_orders(cluster.database_url)  # the cancellations of the other test are undone
    results = play(cluster, lambda i, k: "proxy")
    check(cluster, results)
    served = cluster.served_by()[before:]
    webhook = [worker for request, worker, status in served if request == "POST /webhooks/rest/webhook"]
    assert len(webhook) == sum(len(turns) + len(TOGETHER) for turns in
                               (t for lang in LANGUAGES for t in CONVERSATIONS[lang]))
    assert {worker: webhook.count(worker) > 0 for worker in SERVERS} == {worker: True for worker in SERVERS}, webhook


async def polling_conversation(base: str, route: str, text_: str) -> str:
    """A long-polling web chat through the proxy: handshake, session, a message, its answer."""
    client = WireClient(base, "polling", origin=base, route=route)
    try:
        await client.connect()
        assert not client.refused
        session_id = await client.start_session()
        await client.emit("user_uttered", {"message": text_, "session_id": session_id})
        _, reply = await client.next("bot_uttered", timeout=60)
        return reply["text"]
    finally:
        await client.close()


@pytest.mark.timeout(600)
def test_long_polling_web_chats_stay_on_the_server_that_holds_their_session(cluster):
    """engine.io keeps a long-polling session in the memory of the server that opened it: any
    request of the session reaching the other server is refused (400, and the WireClient fails).
    Web chats with different routing keys complete through the proxy until both servers hold some."""
    base = cluster.base("proxy")
    before = len(cluster.served_by())

    def socketio_workers() -> set[str]:
        return {worker for request, worker, _ in cluster.served_by()[before:] if "/socket.io" in request}

    chats = 0
    while socketio_workers() != set(SERVERS) and chats < 20:
        assert asyncio.run(polling_conversation(base, uuid.uuid4().hex[:10], "bonjour")).startswith("Bonjour")
        chats += 1
    assert socketio_workers() == set(SERVERS), cluster.served_by()[before:]
    refused = [line for line in cluster.served_by()[before:] if "/socket.io" in line[0] and line[2] == 400]
    assert refused == []


def test_an_agent_answer_from_the_other_server_reaches_the_web_chat(cluster):
    """The customer's socket is on rasa-a; the agent answers from rasa-b (the console is served by
    any server): the answer reaches the socket through socket.io's Redis message queue."""
    api = {"Authorization": f"Bearer {TOKEN}", "X-Agent-Name": "Sam"}

    async def scenario() -> tuple[list[str], str]:
        base = cluster.base("rasa-a")
        client = WireClient(base, "websocket", origin=base)
        said: list[str] = []
        try:
            await client.connect()
            session_id = await client.start_session()
            await client.emit("user_uttered", {"message": "i want to talk to a person", "session_id": session_id})
            while not any("ticket T-" in line for line in said):
                said.append((await client.next("bot_uttered", timeout=60))[1]["text"])
            status, listed = await asyncio.to_thread(
                cluster.request, f"/agent/api/tickets?conversation_id={session_id}", rasa="rasa-b", headers=api)
            assert status == 200 and len(listed["tickets"]) == 1, listed
            number = listed["tickets"][0]["number"]
            status, sent = await asyncio.to_thread(
                cluster.request, f"/agent/api/tickets/{number}/reply", {"text": "Hello, Sam here."},
                rasa="rasa-b", headers=api)
            assert status == 200 and sent["delivered"] == "socketio", sent
            while True:  # the agent's answer, after anything left of the bot's hand-over turn
                answer = (await client.next("bot_uttered", timeout=30))[1]["text"]
                if "Hello, Sam here." in answer:
                    return said, answer
        finally:
            await client.close()

    said, answer = asyncio.run(scenario())
    assert any("I've opened ticket T-" in line for line in said), said
    assert answer.startswith("Sam"), answer


def sign_in(cluster: Stack, source: str, password: str) -> tuple[int, object]:
    """An agent console sign-in through the proxy from the local address ``source``."""
    base = cluster.base("proxy")
    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=60,
                                            source_address=(source, 0))
    try:
        connection.request("POST", "/agent/api/session", json.dumps({"name": "Sam", "password": password}),
                           {"Content-Type": "application/json", "X-Requested-With": "agent-console"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_the_agent_console_sees_each_client_address_through_the_proxy(cluster):
    """The proxy passes the client's address on (the workers trust it): failed sign-ins lock the
    address they came from, not the proxy's, so an agent elsewhere still signs in."""
    for _ in range(20):  # 10 per worker: each counts its own failures (docs/handoff.md)
        assert sign_in(cluster, "127.0.0.2", "wrong password")[0] in (401, 429)
    assert sign_in(cluster, "127.0.0.2", AGENT_PASSWORD)[0] == 429
    assert sign_in(cluster, "127.0.0.1", AGENT_PASSWORD) == (200, {"agent": "Sam"})
