"""Plays conversation tests through the real servers and checks what the user experienced.

A conversation is a list of turns. Each turn sends a user message (or a button's payload) to the
REST channel, then reads the conversation from the tracker (HTTP API) and compares what the bot did
in that turn with what the test expects:

* ``bot``: the responses, in order, by name (``BotUttered.metadata["utter_action"]``); exact;
* ``actions``: actions that must have run in the turn (custom actions, forms);
* ``says`` / ``not_says``: substrings that must / must not be in the turn's text (facts, leaks);
* ``matches``: regular expressions the turn's text must match (facts that depend on the day, such as a
  date written in the user's language);
* ``intent``: what the NLU understood (only where the test is about understanding);
* ``slots``: slot values after the turn (``slot.field``: a field of a slot holding an object);

and after the last turn, ``db``: rows in the order database (``table``, ``order``, ``count`` and any
column values). A failure prints the whole transcript so far.

Files: ``tests/conversations/<lang>/*.yml`` (conversations written for one language) and the matrix
``tests/conversations/matrix.yml``, a skeleton played in every language with the phrases of
``tests/conversations/<lang>/phrases.yml`` (``{say:key}`` picks one of the phrasings, ``{order:07}``
is the language's demo customer's order, ``{contact}`` their e-mail or phone, ``{other_order:07}`` the
same scenario of another customer). See ``tests/conversations/README.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
LANGS = ("en", "fr", "sw")
# The demo customer each language's conversations play (actions/orders/demo.py).
CUSTOMERS = {
    "en": {"name": "oliver", "id": 3, "prefix": "81700877", "contact": "oliver.smith@example.co.uk"},
    "fr": {"name": "amina", "id": 1, "prefix": "81700345", "contact": "amina.diallo@example.com"},
    "sw": {"name": "wanjiku", "id": 2, "prefix": "81700512", "contact": "0712 345 678"},
}
OTHER = {"en": "fr", "fr": "sw", "sw": "en"}  # whose orders play "someone else's order"
PLACEHOLDER = re.compile(r"\{(say|order|other_order|contact|customer_id)(?::([^{}]+))?\}")


def slot_value(slots: dict[str, Any], key: str) -> Any:
    """A slot's value; ``slot.field`` reads a field of a slot that holds an object."""
    name, _, field = key.partition(".")
    value = slots.get(name)
    return (value or {}).get(field) if field and isinstance(value, dict | None) else value


def order_number(lang: str, scenario: str) -> str:
    return f"{CUSTOMERS[lang]['prefix']}0000{int(scenario):04d}"


@dataclass
class Turn:
    user: str | None = None
    button: str | None = None
    # not a message: a reminder firing ({intent, entities}) or the seller answering ({order, approve})
    external: dict[str, Any] | None = None
    seller: dict[str, Any] | None = None
    # an agent in the console: {action: hand_back | close} or {reply: "text"} (on the conversation's ticket)
    agent: dict[str, Any] | None = None
    bot: list[str] | None = None
    actions: list[str] = field(default_factory=list)
    says: list[str] = field(default_factory=list)
    not_says: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)  # the button payloads the reply offers, in order
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    name: str
    lang: str
    source: str
    turns: list[Turn]
    identity: str = "anonymous"  # or "signed_in": the website's token for the language's customer
    db: list[dict[str, Any]] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)  # rule codes / paths, for the coverage report

    @property
    def test_id(self) -> str:
        return f"{self.lang}/{self.source}/{self.name}"


# --------------------------------------------------------------------------------------- loading


class Phrasebook:
    """``<lang>/phrases.yml``; with ``CONVERSATION_PHRASES`` set to a directory, its
    ``<lang>/phrases.yml`` replaces the phrasings of the keys it has (the benchmark of phrasings
    nobody here wrote, ``tests/benchmarks/fresh_conversations.py``), and ``CONVERSATION_SEED``
    changes which phrasing each conversation picks."""

    def __init__(self, lang: str) -> None:
        path = HERE / lang / "phrases.yml"
        self.lang = lang
        self.phrases: dict[str, list[str]] = yaml.safe_load(path.read_text(encoding="utf-8"))["phrases"]
        other = os.environ.get("CONVERSATION_PHRASES")
        if other:
            self.phrases.update(yaml.safe_load((Path(other) / lang / "phrases.yml").read_text(encoding="utf-8"))["phrases"])
        self.salt = os.environ.get("CONVERSATION_SEED", "")
        self.pinned: dict[str, int] = {}

    def variants(self, key: str) -> list[str]:
        if key not in self.phrases:
            raise KeyError(f"{self.lang}/phrases.yml has no phrase {key!r}")
        return self.phrases[key] if isinstance(self.phrases[key], list) else [self.phrases[key]]

    def say(self, key: str, seed: str) -> str:
        variants = self.variants(key)
        if key in self.pinned:
            return variants[self.pinned[key]]
        index = int(hashlib.sha256((self.salt + seed).encode()).hexdigest(), 16) % len(variants)
        return variants[index]

    def pin(self, key: str, index: int) -> Phrasebook:
        """The same phrasebook with ``{say:key}`` always its ``index``-th phrasing."""
        pinned = copy.copy(self)
        pinned.pinned = {**self.pinned, key: index}
        return pinned


def fill(value: Any, lang: str, phrases: Phrasebook | None, seed: str) -> Any:
    """Replaces the placeholders in a string (recursively in lists and dicts)."""
    if isinstance(value, list):
        return [fill(v, lang, phrases, f"{seed}/{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: fill(v, lang, phrases, f"{seed}/{k}") for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "say":
            if phrases is None:
                raise ValueError(f"{{say:{arg}}} needs a phrasebook")
            return fill(phrases.say(arg, seed), lang, phrases, seed + "/" + arg)
        if kind == "order":
            return order_number(lang, arg)
        if kind == "other_order":
            return order_number(OTHER[lang], arg)
        if kind == "contact":
            return CUSTOMERS[lang]["contact"]
        return str(CUSTOMERS[lang]["id"])

    return PLACEHOLDER.sub(replace, value)


def _turn(raw: dict[str, Any]) -> Turn:
    known = set(Turn.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown turn keys {sorted(unknown)} in {raw}")
    turn = Turn(**raw)
    if sum(x is not None for x in (turn.user, turn.button, turn.external, turn.seller, turn.agent)) != 1:
        raise ValueError(f"a turn has exactly one of user / button / external / seller / agent: {raw}")
    return turn


def _conversation(raw: dict[str, Any], lang: str, source: str, phrases: Phrasebook | None) -> Conversation:
    seed = f"{lang}/{raw['name']}"
    filled = fill({k: v for k, v in raw.items() if k != "name"}, lang, phrases, seed)
    return Conversation(
        name=raw["name"], lang=lang, source=source,
        turns=[_turn(t) for t in filled["turns"]],
        identity=filled.get("identity", "anonymous"),
        db=filled.get("db", []), covers=filled.get("covers", []),
    )


def _expanded(raw: dict[str, Any], lang: str, source: str, phrases: Phrasebook) -> list[Conversation]:
    """The conversation, or with ``every_phrasing: key`` one conversation per phrasing of that key
    (named ``<name> [i]``): a scenario written for new ways of saying one thing plays them all,
    not the one the seed would pick."""
    raw = {k: v for k, v in raw.items() if k != "skip_languages"}
    key = raw.pop("every_phrasing", None)
    if key is None:
        return [_conversation(raw, lang, source, phrases)]
    return [_conversation({**raw, "name": f"{raw['name']} [{i}]"}, lang, source, phrases.pin(key, i))
            for i in range(len(phrases.variants(key)))]


def load(langs: tuple[str, ...] = LANGS) -> list[Conversation]:
    conversations: list[Conversation] = []
    matrix = yaml.safe_load((HERE / "matrix.yml").read_text(encoding="utf-8"))["conversations"]
    for lang in langs:
        phrases = Phrasebook(lang)
        for raw in matrix:
            if lang in raw.get("skip_languages", []):
                continue
            conversations += _expanded(raw, lang, "matrix", phrases)
        for path in sorted((HERE / lang).glob("*.yml")):
            if path.name == "phrases.yml":
                continue
            for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
                conversations += _expanded(raw, lang, path.stem, phrases)
    names = [c.test_id for c in conversations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"conversation names must be unique per file: {sorted(duplicates)}")
    return conversations


# --------------------------------------------------------------------------------------- playing


@dataclass
class TurnResult:
    sent: str
    intent: str | None
    responses: list[str]
    texts: list[str]
    actions: list[str]
    codes: list[str]
    buttons: list[list[str]]
    requested: list[str]  # form.slot asked in this turn


class ConversationFailed(AssertionError):
    pass


class Player:
    """Talks to a running Rasa server (REST channel + HTTP API) and checks the order database."""

    def __init__(self, base: str, token: str, database_url: str, token_for: Any) -> None:
        self.base = base
        self.token = token
        self.database_url = database_url
        self.token_for = token_for  # customer id -> a valid website token
        self.seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def _request(self, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def events(self, sender: str) -> list[dict[str, Any]]:
        quoted = urllib.parse.quote(sender, safe="")
        return self._request(f"/conversations/{quoted}/tracker?token={self.token}&include_events=ALL")["events"]

    def slots(self, sender: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(sender, safe="")
        return self._request(f"/conversations/{quoted}/tracker?token={self.token}")["slots"]

    def seller_decides(self, order: str, approve: bool) -> None:
        """The seller answers the order's pending cancellation request (the seller side of the service)."""
        from actions.orders import OrderService
        from actions.orders.db import make_engine, session_factory
        from actions.orders.seller import seller_decides

        engine = make_engine(self.database_url)
        try:
            service = OrderService(session_factory(engine))
            customer = next(c["id"] for c in CUSTOMERS.values() if order.startswith(c["prefix"]))
            view = service.get_order(order_number=order, customer_id=customer)
            assert view is not None and view.cancellation is not None, f"no cancellation request on {order}"
            assert seller_decides(service, request_id=view.cancellation.id, approve=approve).ok
        finally:
            engine.dispose()

    def agent_acts(self, sender: str, what: dict[str, Any]) -> None:
        """What an agent does in the console (bot/handoff/console.py), through its API."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}",
                   "X-Agent-Name": "conversation-tests"}

        def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            request = urllib.request.Request(self.base + path, method=method, headers=headers,
                                             data=json.dumps(body).encode() if body is not None else None)
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")

        query = urllib.parse.urlencode({"conversation_id": sender})
        tickets = call("GET", f"/agent/api/tickets?{query}").get("tickets") or []
        assert tickets, f"conversation {sender} has no open ticket"
        number = urllib.parse.quote(tickets[0]["number"], safe="")
        if "reply" in what:
            call("POST", f"/agent/api/tickets/{number}/reply", {"text": what["reply"]})
        else:
            call("POST", f"/agent/api/tickets/{number}/{'close' if what.get('action') == 'close' else 'handback'}", {})

    def send(self, sender: str, text: str, metadata: dict[str, Any], external: dict[str, Any] | None = None,
             agent: dict[str, Any] | None = None) -> TurnResult:
        before = len(self.events(sender))
        if agent is not None:
            self.agent_acts(sender, agent)
        elif external is not None:
            quoted = urllib.parse.quote(sender, safe="")
            self._request(f"/conversations/{quoted}/trigger_intent?token={self.token}&output_channel=latest",
                          {"name": external["intent"], "entities": external.get("entities") or {}})
        else:
            body: dict[str, Any] = {"sender": sender, "message": text}
            if metadata:
                body["metadata"] = metadata
            self._request("/webhooks/rest/webhook", body)
        events = self.events(sender)
        intent = None
        result = TurnResult(text, None, [], [], [], [], [], [])
        form = None
        for index, event in enumerate(events):
            kind = event.get("event")
            if kind == "active_loop":
                form = event.get("name")
            if index < before:
                continue
            if kind == "slot" and event.get("name") == "requested_slot" and event.get("value") and form:
                result.requested.append(f"{form}.{event['value']}")
            if kind == "user":
                intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            elif kind == "action" and event.get("name") not in (None, "action_listen"):
                result.actions.append(event["name"])
            elif kind == "bot":
                metadata_ = event.get("metadata") or {}
                result.responses.append(metadata_.get("utter_action") or "<text>")
                result.texts.append(event.get("text") or "")
                if metadata_.get("reason_code"):
                    result.codes.append(metadata_["reason_code"])
                result.buttons.append([b.get("payload", "") for b in (event.get("data") or {}).get("buttons") or []])
        result.intent = intent
        return result

    def play(self, conversation: Conversation) -> list[TurnResult]:
        sender = f"conv-{conversation.lang}-{uuid.uuid4().hex[:12]}"
        metadata: dict[str, Any] = {}
        if conversation.identity == "signed_in":
            metadata["auth_token"] = self.token_for(CUSTOMERS[conversation.lang]["id"])
        transcript: list[TurnResult] = []
        seen = self.seen[conversation.lang]
        for number, turn in enumerate(conversation.turns, 1):
            if turn.seller is not None:
                self.seller_decides(str(turn.seller["order"]), bool(turn.seller["approve"]))
                continue
            text = turn.user if turn.user is not None else turn.button or f"<{(turn.external or turn.agent or {})}>"
            result = self.send(sender, text, {**metadata, **turn.metadata}, turn.external, turn.agent)
            transcript.append(result)
            seen["responses"].update(result.responses)
            seen["actions"].update(result.actions)
            seen["codes"].update(result.codes)
            seen["form slots"].update(result.requested)
            problems = check_turn(turn, result)
            if turn.slots:
                slots = self.slots(sender)
                problems += [f"slot {k} is {slot_value(slots, k)!r}, expected {v!r}"
                             for k, v in turn.slots.items()
                             if slot_value(slots, k) != v and str(slot_value(slots, k)) != str(v)]
            if problems:
                raise ConversationFailed(report(conversation, transcript, number, problems))
        problems = self.check_db(conversation.db)
        if problems:
            raise ConversationFailed(report(conversation, transcript, None, problems))
        seen["conversations"].add(conversation.test_id)
        seen["covers"].update(conversation.covers)
        return transcript

    def check_db(self, expectations: list[dict[str, Any]]) -> list[str]:
        if not expectations:
            return []
        from sqlalchemy import create_engine, text

        problems = []
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                for expected in expectations:
                    spec = dict(expected)
                    table, count = spec.pop("table"), spec.pop("count", None)
                    number = spec.pop("order", None)
                    if not re.fullmatch(r"[a-z_]+", table) or not all(re.fullmatch(r"[a-z_]+", c) for c in spec):
                        raise ValueError(f"bad table or column in {expected}")
                    where, params = [], {}
                    if number is not None:
                        column = "t.number" if table == "orders" else "(SELECT number FROM orders o WHERE o.id = t.order_id)"
                        where.append(f"{column} = :number")
                        params["number"] = number
                    for i, (column, value) in enumerate(spec.items()):
                        where.append(f"t.{column} = :v{i}")
                        params[f"v{i}"] = value
                    sql = f"SELECT count(*) FROM {table} t" + (" WHERE " + " AND ".join(where) if where else "")
                    found = connection.execute(text(sql), params).scalar_one()
                    wanted = 1 if count is None else count
                    if found != wanted:
                        problems.append(f"database: {found} row(s) in {table} matching {expected}, expected {wanted}")
        finally:
            engine.dispose()
        return problems


def check_turn(turn: Turn, result: TurnResult) -> list[str]:
    problems = []
    if turn.bot is not None and result.responses != turn.bot:
        problems.append(f"responses {result.responses}, expected {turn.bot}")
    missing = [a for a in turn.actions if a not in result.actions]
    if missing:
        problems.append(f"actions {missing} did not run (ran: {result.actions})")
    joined = "\n".join(result.texts)
    problems += [f"the reply does not say {s!r}" for s in turn.says if s.casefold() not in joined.casefold()]
    problems += [f"the reply says {s!r}" for s in turn.not_says if s.casefold() in joined.casefold()]
    problems += [f"the reply does not match {p!r}" for p in turn.matches if not re.search(p, joined, re.IGNORECASE)]
    if turn.intent is not None and result.intent != turn.intent:
        problems.append(f"intent {result.intent!r}, expected {turn.intent!r}")
    offered = [payload for buttons in result.buttons for payload in buttons]
    if turn.offers and offered != turn.offers:
        problems.append(f"buttons {offered}, expected {turn.offers}")
    return problems


def report(conversation: Conversation, transcript: list[TurnResult], failed_turn: int | None,
           problems: list[str]) -> str:
    where = f"turn {failed_turn}" if failed_turn else "after the last turn"
    lines = [f"conversation {conversation.test_id!r} failed at {where}:"]
    lines += [f"  - {p}" for p in problems]
    lines.append("transcript:")
    for number, turn in enumerate(transcript, 1):
        lines.append(f"  {number}. user: {turn.sent!r}  [intent {turn.intent}]")
        for name, text, buttons in zip(turn.responses, turn.texts, turn.buttons, strict=True):
            extra = f"  buttons {buttons}" if buttons else ""
            lines.append(f"     bot ({name}): {text!r}{extra}")
        others = [a for a in turn.actions if not a.startswith("utter_")]
        if others:
            lines.append(f"     actions: {others}")
    return "\n".join(lines)
