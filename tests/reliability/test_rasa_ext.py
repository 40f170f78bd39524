"""bot/rasa_ext without servers: each extension in-process, compared with plain Rasa where it must
decide the same (the extensions are installed for this module only and removed afterwards)."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_ext
from bot.rasa_ext import action_failures, response_check
from tests.harness import free_port
from tests.reliability.stack import ROOT


@pytest.fixture(scope="module", autouse=True)
def extensions():
    installed_before = rasa_ext.installed()
    rasa_ext.install(list(rasa_ext.EXTENSIONS))
    yield
    rasa_ext.uninstall([name for name in rasa_ext.EXTENSIONS if name not in installed_before])


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


@pytest.fixture()
def without(request):
    """Runs a test body with one extension off (plain Rasa), then puts it back."""
    def off(name: str):
        rasa_ext.uninstall([name])
        request.addfinalizer(lambda: rasa_ext.install([name]))
    return off


def run(domain: Domain, action: str, events: list, url: str | None = None) -> list:
    endpoint = EndpointConfig(url or f"http://127.0.0.1:{free_port()}/webhook")  # nobody listens there
    tracker = DialogueStateTracker.from_events("patch-test", events, domain.slots)
    return asyncio.run(RemoteAction(action, endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain))


def said(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, BotUttered)]


def user(text: str, language: str, intent: str = "affirm") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0}, parse_data={"language": language})


def test_unreachable_validation_answers_in_the_message_language_and_discards_the_answer(domain):
    events = [SlotSet("language", "en"), ActionExecuted("action_listen"), user("oui", "fr"),
              SlotSet("confirmed", True), ActionExecuted("cancel_form"), SlotSet("confirmed", True)]
    result = run(domain, "validate_cancel_form", events)
    assert said(result) and said(result)[0].startswith("Désolé, je n'arrive pas à joindre")
    assert SlotSet("confirmed", None) in result


def test_said_once_per_message_and_a_stale_yes_is_dropped(domain):
    first = run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en"),
                                                SlotSet("confirmed", True)])
    assert len(said(first)) == 1 and SlotSet("confirmed", None) in first
    again = run(domain, "action_ask_order_id", [ActionExecuted("action_listen"), user("yes", "en"), *first])
    assert said(again) == []


def test_slot_mapping_actions_and_reminders_keep_rasas_behaviour(domain):
    from rasa.shared.exceptions import RasaException

    with pytest.raises(RasaException):
        run(domain, "action_detect_language", [ActionExecuted("action_listen"), user("hi", "en")])
    with pytest.raises(RasaException):
        run(domain, "action_cancellation_followup",
            [ActionExecuted("action_listen"), user("", "en", intent="EXTERNAL_cancellation_deadline")])


def test_rejections_still_propagate_and_responses_are_still_validated(domain, monkeypatch):
    from rasa.utils.endpoints import ClientResponseError as RasaClientResponseError

    async def reject(*args, **kwargs):
        raise RasaClientResponseError(400, "Bad Request", b'{"action_name": "x", "error": "no"}')

    monkeypatch.setattr(EndpointConfig, "request", reject)
    with pytest.raises(ActionExecutionRejection):
        run(domain, "validate_cancel_form", [ActionExecuted("action_listen"), user("yes", "en")])
    action = RemoteAction("x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(Exception, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "no such event"}]})


def test_event_types_are_cached_and_unknown_ones_still_rejected():
    assert Event.resolve_by_type("slot") is SlotSet and Event.resolve_by_type("slot") is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")


def test_action_calls_carry_the_domain_without_responses(domain):
    body = RemoteAction("validate_cancel_form", None)._action_call_format(
        DialogueStateTracker.from_events("patch-test", [ActionExecuted("action_listen")], domain.slots), domain)
    sent = body["domain"]
    assert "responses" not in sent
    # what the action server reads: forms' required slots, slot mappings, intents, entities
    assert sent["forms"] == domain.as_dict()["forms"] and sent["slots"] == domain.as_dict()["slots"]
    assert body["tracker"]["sender_id"] == "patch-test" and body["next_action"] == "validate_cancel_form"
    assert "utter_ask_cancel_form_confirmed" in domain.responses  # the domain itself is untouched


def test_tracker_saves_insert_each_event_once(domain, tmp_path):
    from bot.tracker_store import RememberingSQLTrackerStore

    url = tmp_path / "tracker.db"
    first, second = (RememberingSQLTrackerStore(domain, dialect="sqlite", db=str(url)) for _ in range(2))

    async def conversation():
        tracker = DialogueStateTracker.from_events("alice", [ActionExecuted("action_listen")], domain.slots)
        await first.save(tracker)  # a new conversation: the store counts what it holds
        for turn in range(3):
            store = (first, second)[turn % 2]  # two servers taking turns on one conversation
            tracker = await store.retrieve("alice")
            tracker.update(user(f"message {turn}", "en"))
            await store.save(tracker)
            tracker.update(ActionExecuted("action_listen"))
            await store.save(tracker)  # saved again in the same turn: only the new event
        return await second.retrieve("alice")

    final = asyncio.run(conversation())
    texts = [e.text for e in final.events if isinstance(e, UserUttered)]
    assert texts == ["message 0", "message 1", "message 2"]
    assert [e.action_name for e in final.events if isinstance(e, ActionExecuted)] == ["action_listen"] * 4


def test_tracker_store_statements_match_rasa_store(domain, tmp_path):
    """bot.tracker_store runs Rasa's queries as prebuilt statements: the rows it writes and the
    conversations it reads back must be the ones Rasa's SQLTrackerStore writes and reads, across
    session starts, with either store reading what the other wrote."""
    import json
    import sqlite3

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted

    from bot.tracker_store import RememberingSQLTrackerStore

    def play(store_of_turn, db):
        async def conversation():
            stores = [store_of_turn(turn) for turn in range(6)]
            tracker = DialogueStateTracker.from_events("bob", [ActionExecuted("action_listen")], domain.slots)
            await stores[0].save(tracker)
            for turn, store in enumerate(stores):
                tracker = await store.retrieve("bob")
                if turn == 3:  # a new session: only what follows it is read back
                    tracker.update(ActionExecuted("action_session_start"))
                    tracker.update(SessionStarted())
                tracker.update(user(f"message {turn}", "fr", intent="inform"))
                tracker.update(SlotSet("order_id", f"81700345000000{turn:02d}"))
                tracker.update(ActionExecuted("action_listen"))
                await store.save(tracker)
            return await stores[-1].retrieve("bob"), await stores[-1].retrieve("nobody")

        latest, nobody = asyncio.run(conversation())
        with sqlite3.connect(db) as connection:
            rows = connection.execute(
                "SELECT sender_id, type_name, intent_name, action_name, data FROM events ORDER BY id").fetchall()

        def untimed(data: dict) -> dict:  # the plays differ in when they happened, nothing else
            return {key: value for key, value in data.items() if key != "timestamp"}

        return ([untimed(e.as_dict()) for e in latest.events], nobody,
                [(*row[:4], untimed(json.loads(row[4]))) for row in rows])

    ours_db, rasa_db, mixed_db = (str(tmp_path / f"{name}.db") for name in ("ours", "rasa", "mixed"))
    ours = RememberingSQLTrackerStore(domain, dialect="sqlite", db=ours_db)
    rasa = SQLTrackerStore(domain, dialect="sqlite", db=rasa_db)
    ours_mixed = RememberingSQLTrackerStore(domain, dialect="sqlite", db=mixed_db)
    rasa_mixed = SQLTrackerStore(domain, dialect="sqlite", db=mixed_db)

    expected = play(lambda turn: rasa, rasa_db)
    assert play(lambda turn: ours, ours_db) == expected
    assert play(lambda turn: (ours_mixed, rasa_mixed)[turn % 2], mixed_db) == expected
    events, nobody, rows = expected
    assert nobody is None
    assert [e["text"] for e in events if e["event"] == "user"] == ["message 3", "message 4", "message 5"]
    assert len(rows) == 1 + 6 * 3 + 2 and {r[2] for r in rows if r[1] == "user"} == {"inform"}


RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_id", "value": "8170034500000003"},
                {"event": "bot", "text": "hi", "timestamp": None, "metadata": {}},
                {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0},
                {"event": "active_loop", "name": None}, {"event": "followup", "name": "x"},
                {"event": "reminder", "intent": "EXTERNAL_x", "date_time": "2026-11-25T10:00:00"},
                {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
                {"event": "entities", "entities": []}, {"event": "restart"}, {"event": "reset_slots"}],
     "responses": [{"text": "x"}]},
    {"responses": [{"response": "utter_greet"}]},
    {},
    {"events": [{"event": "slot", "name": "order_id"}]},             # no value
    {"events": [{"event": "slot", "name": 3, "value": 1}]},          # name not a string
    {"events": [{"event": "no such event"}]},
    {"events": [{"event": 7}]},
    {"events": [{"name": "x", "value": 1}]},                          # no event type
    {"events": [{"event": "bot", "timestamp": "yesterday"}]},
    {"events": [{"event": "bot", "metadata": []}]},
    {"events": [{"event": "entities", "entities": "order"}]},
    {"events": ["slot"]},
    {"events": {"event": "slot"}},
    {"events": [], "responses": "hello"},
    {"events": [], "responses": ["hello"]},
    [],
]


@pytest.mark.parametrize("response", RESPONSES)
def test_fast_response_check_agrees_with_rasas_schema(response):
    import jsonschema

    schema = RemoteAction.action_response_format_spec()
    full = jsonschema.validators.validator_for(schema)(schema)
    fast = response_check.per_event_type_validation(schema, type(full))
    assert fast(response) == full.is_valid(response)
    if full.is_valid(response):
        assert RemoteAction("x", None)._validate_action_result(response)
    else:
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
            RemoteAction("x", None)._validate_action_result(response)


@pytest.mark.parametrize("slot, message, expected", [
    ("en", "fr", [SlotSet("language", "fr")]),   # the user switched
    ("sw", "sw", []),                            # unchanged: no event
    ("fr", None, []),                            # no language in the parse result: keep it
])
def test_language_slot_follows_the_message_without_the_action_server(domain, slot, message, expected):
    from rasa.core.actions.action import ActionExtractSlots

    endpoint = EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")  # nobody listens there
    parse = {"intent": {"name": "affirm", "confidence": 1.0}, **({"language": message} if message else {})}
    tracker = DialogueStateTracker.from_events(
        "patch-test", [SlotSet("language", slot), ActionExecuted("action_listen"),
                       UserUttered("oui", parse["intent"], parse_data=parse)], domain.slots)
    events = asyncio.run(ActionExtractSlots(endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain))
    assert [e for e in events if isinstance(e, SlotSet) and e.key == "language"] == expected
    assert not said(events)  # no "I can't reach our order system"


def test_a_connection_failure_is_retried_once(domain, monkeypatch):
    import aiohttp

    monkeypatch.setattr(action_failures, "RETRY_DELAY_S", 0)
    calls = []

    async def flaky(*args, **kwargs):  # a connection the restarted server was closing, then fine
        calls.append(kwargs["json"]["next_action"])
        if len(calls) == 1:
            raise aiohttp.ClientOSError(None, "Cannot write to closing transport")
        return {"events": [{"event": "slot", "name": "confirmed", "value": None}], "responses": []}

    monkeypatch.setattr(EndpointConfig, "request", flaky)
    events = run(domain, "validate_cancel_form", [ActionExecuted("action_listen"), user("yes", "en")])
    assert calls == ["validate_cancel_form"] * 2
    assert events == [SlotSet("confirmed", None)] and not said(events)


def test_an_action_server_that_stays_down_is_tried_twice_then_reported(domain, monkeypatch):
    monkeypatch.setattr(action_failures, "RETRY_DELAY_S", 0)
    calls = []
    request = EndpointConfig.request

    async def counting(self, *args, **kwargs):
        calls.append(1)
        return await request(self, *args, **kwargs)

    monkeypatch.setattr(EndpointConfig, "request", counting)
    events = run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en")])
    assert len(calls) == 2 and len(said(events)) == 1


def test_without_the_extension_a_failing_action_is_silent(domain, without):
    """Plain Rasa: the failure escapes RemoteAction (the processor logs it and the user gets nothing)."""
    from rasa.shared.exceptions import RasaException

    without("action_failures")
    with pytest.raises(RasaException):
        run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en")])


def test_an_unregistered_action_stays_a_loud_deployment_error(domain, monkeypatch):
    """A 404 ("no such action") is not an outage: no "try again later", Rasa's error is raised and logged."""
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError as RasaClientResponseError

    async def not_registered(*args, **kwargs):
        raise RasaClientResponseError(404, "Not Found", b'{"error": "No registered action found"}')

    monkeypatch.setattr(EndpointConfig, "request", not_registered)
    with pytest.raises(RasaException):
        run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en")])


def test_a_server_error_is_answered(domain, monkeypatch):
    from rasa.utils.endpoints import ClientResponseError as RasaClientResponseError

    async def failing(*args, **kwargs):
        raise RasaClientResponseError(503, "Service Unavailable", b"")

    monkeypatch.setattr(EndpointConfig, "request", failing)
    events = run(domain, "action_cancel_order", [ActionExecuted("action_listen"), user("yes", "en")])
    assert len(said(events)) == 1


@pytest.mark.parametrize("name", ["event_types", "action_domain", "response_check"])
def test_same_result_with_the_extension_on_and_off(domain, without, name):
    """The call an action receives and the events Rasa reads back are the same with and without it."""
    tracker = DialogueStateTracker.from_events(
        "patch-test", [SlotSet("language", "fr"), ActionExecuted("action_listen"), user("oui", "fr")], domain.slots)
    response = RESPONSES[1]

    def observed():
        body = RemoteAction("validate_cancel_form", None)._action_call_format(tracker, domain)
        body["domain"].pop("responses", None)
        valid = RemoteAction("x", None)._validate_action_result(response)
        events = [Event.resolve_by_type(e["event"]).__name__ for e in response["events"]]
        return body, valid, events

    on = observed()
    without(name)
    assert observed() == on


def test_the_switch(monkeypatch):
    assert rasa_ext.wanted("off") == [] and rasa_ext.wanted("on") == list(rasa_ext.EXTENSIONS)
    assert rasa_ext.wanted("action_failures, slot_mappings") == ["action_failures", "slot_mappings"]
    with pytest.raises(ValueError):
        rasa_ext.wanted("no_such_extension")
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match="written for Rasa 3.6.21"):
        rasa_ext.install(["event_types"])
    assert rasa_ext.install([]) == rasa_ext.installed()  # nothing asked: no version check needed


# --- the handoff relay (slot_mappings): in-process, on every message, paused or not ---------------------------

def extract(domain: Domain, events: list, output=None) -> tuple[DialogueStateTracker, CollectingOutputChannel]:
    """Rasa's action_extract_slots on a tracker, as handle_message runs it (its tracker is saved)."""
    from rasa.core.actions.action import ActionExtractSlots

    tracker = DialogueStateTracker.from_events("relay-test", events, domain.slots)
    output = output or CollectingOutputChannel()
    asyncio.run(ActionExtractSlots(None).run(output, TemplatedNaturalLanguageGenerator(domain.responses),
                                             tracker, domain))
    return tracker, output


def handed_over() -> list[Event]:
    return [ActionExecuted("action_listen"), user("nataka kuongea na mtu", "sw", intent="request_human"),
            ActionExecuted("action_handoff"), ConversationPaused()]


def test_a_paused_conversation_is_acknowledged_once_in_the_message_language(domain):
    tracker, output = extract(domain, [*handed_over(), user("uko hapo?", "sw", intent="greet")])
    ack = [m["text"] for m in output.messages]
    assert ack == ["Asante, ujumbe wako umefika kwa timu yetu ya huduma kwa wateja. Mhudumu atakujibu hapa haraka "
                   "iwezekanavyo."]
    assert said(list(tracker.events)) == ack  # recorded in the conversation, so it is said once
    again, output = extract(domain, [*tracker.events, user("halo?", "sw", intent="greet")])
    assert output.messages == [] and said(list(again.events)) == ack


def test_no_acknowledgement_once_an_agent_answered_nor_when_not_paused(domain):
    agent = BotUttered("Sam (support team): hello", {}, {"via": "console", "from": "agent", "delivered": True})
    _, output = extract(domain, [*handed_over(), agent, user("thanks", "en", intent="thank")])
    assert output.messages == []
    _, output = extract(domain, [ActionExecuted("action_listen"), user("hello", "en", intent="greet")])
    assert output.messages == []
    resumed = [*handed_over(), ConversationResumed(), ActionExecuted("action_listen"), user("hi", "en", "greet")]
    assert extract(domain, resumed)[1].messages == []


def test_rest_gets_the_console_messages_it_missed_with_its_next_message(domain):
    pending = BotUttered("Sam (support team): your refund left today", {},
                         {"via": "console", "from": "agent", "agent": "Sam", "delivered": False})
    pushed = BotUttered("Sam (support team): pushed", {}, {"via": "console", "from": "agent", "delivered": True})
    events = [*handed_over(), user("hello?", "en", intent="greet"), pushed, pending, ConversationResumed(),
              user("thanks", "en", intent="thank")]
    _, output = extract(domain, events)
    assert output.messages == [{"recipient_id": "relay-test", "text": "Sam (support team): your refund left today",
                                "from": "agent", "agent": "Sam"}]
    # The next exchange does not get it again.
    _, output = extract(domain, [*events, user("bye", "en", intent="goodbye")])
    assert output.messages == []


def test_a_new_session_keeps_the_pause_when_the_action_server_is_down(domain):
    events = [*handed_over(), user("hello?", "en", intent="greet")]
    result = run(domain, "action_session_start", events)
    kinds = [type(e).__name__ for e in result]
    assert kinds[0] == "SessionStarted" and kinds[-2:] == ["ConversationPaused", "ActionExecuted"]
    assert said(result) == []  # not the "service unavailable" answer of a failed action
    assert "ConversationPaused" not in [type(e).__name__ for e in run(domain, "action_session_start",
                                                                         [ActionExecuted("action_listen")])]


def test_action_calls_reuse_their_connection_and_send_the_same_request(domain, without):
    """Three calls of a form validation through a real HTTP server: the same request bodies, headers
    and answers with the extension on and off; on, one TCP connection instead of three; an error
    status is Rasa's error either way."""
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError as RasaClientResponseError

    async def scenario() -> tuple[list, list, set, type | None]:
        received, peers = [], set()

        async def webhook(request: web.Request) -> web.Response:
            peers.add(request.transport.get_extra_info("peername"))
            body = await request.json()
            received.append((request.headers["Content-Type"], request.headers.get("X-Test"), body["next_action"],
                             body["tracker"]["latest_message"]["text"], sorted(body["domain"])))
            if body["next_action"] == "action_broken":
                return web.json_response({"error": "broken"}, status=500)
            return web.json_response({"events": [{"event": "slot", "name": "confirmed", "value": None}],
                                      "responses": []})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Test": "yes"})
        tracker = DialogueStateTracker.from_events(
            "connections-test", [ActionExecuted("action_listen"), user("yes", "en")], domain.slots)
        answers = []
        try:
            for _ in range(3):
                answers.append(await RemoteAction("validate_cancel_form", endpoint).run(
                    CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain))
            error = None
            try:
                await endpoint.request(json={"next_action": "action_broken", "tracker": tracker.current_state(),
                                             "domain": {}}, method="post")
            except RasaClientResponseError as raised:
                error = type(raised)
        finally:
            from bot.rasa_ext.action_connections import close_sessions

            await close_sessions()
            await runner.cleanup()
        return received, answers, peers, error

    on = asyncio.run(scenario())
    without("action_connections")
    off = asyncio.run(scenario())
    assert on[0] == off[0] and on[1] == off[1]  # requests and answers
    assert on[3] is off[3] is RasaClientResponseError
    assert len(on[2]) == 1 and len(off[2]) == 4  # one connection instead of one per call
