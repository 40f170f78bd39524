"""Hostile and broken input through the REST channel, in English, French and Swahili conversations.

Every text of ``corpus.TEXTS`` is sent in a fresh conversation twice: inside a sentence of the
language ("où est ma commande <payload>", which also starts the order form) and bare (which then
lands on the form's question). Expected: no 5xx, an answer to every message that is one of our
responses, in the conversation's language (or, when the payload itself is made of words and is not
code, in one of our three languages), never an order detail or a customer's data, never the payload echoed or
evaluated; the order database untouched. Raw bodies (``corpus.BODIES``) get a 4xx, never a 5xx.

Known problems in code other than these tests are listed in ``KNOWN`` with the fix's owner: they are
counted and printed, and a case that starts passing is reported so it can be removed from the list.
"""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from actions.orders.demo import CUSTOMERS
from tests.abuse import report
from tests.abuse.corpus import BODIES, FRAME, HUGE_TEXTS, TEXTS
from tests.reliability.helpers import LANGUAGES, identify, languages

pytestmark = pytest.mark.needs_servers

WORDS = re.compile(r"[^\W\d_]{2,}")  # a payload with words may be read as any of our languages
CODE = ("sql_injection", "html_script", "template")  # ... unless it is code: its keywords are no language
DISCLOSING = re.compile(r"^utter_(status_|order_(tracking|eta|pending|dispute)|refund_|no_refund|verified|"
                        r"cancel|refuse_|dispute_|restored|choose_order|delivery_)")
PERSONAL = [c.email for c in CUSTOMERS] + [c.phone for c in CUSTOMERS] + [c.name for c in CUSTOMERS]
EVALUATED = ("49", "<script", "onerror", "<svg", "<img", "${", "{{", "__class__", "jndi", "DROP TABLE",
             "UNION SELECT", "\x00", "\u202e")

# (kind, payload) -> why a known problem is accepted, with where it would be fixed. None left: the
# REST channel drops lone surrogates, "/restart" says utter_restart, and single letters ("0x1F",
# "%s%n") carry no language signal.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass
class Turn:
    category: str
    lang: str
    payload: str
    kind: str  # "framed" or "bare"
    status: int
    replies: object
    seconds: float

    @property
    def texts(self) -> list[str]:
        return [r.get("text") or "" for r in self.replies] if isinstance(self.replies, list) else []


def orders_snapshot(database_url: str) -> list[tuple]:
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT number, status, customer_id, amount FROM orders ORDER BY number"))]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def corpus(stack):
    """Runs the whole corpus once (conversations in parallel); the tests below check the turns."""
    before = orders_snapshot(stack.database_url)
    jobs = [(category, lang, payload) for category, payloads in TEXTS.items()
            for payload in payloads for lang in LANGUAGES]

    def converse(job) -> list[Turn]:
        category, lang, payload = job
        sender = f"abuse-{category}-{lang}-{uuid.uuid4().hex[:8]}"
        turns = []
        for kind, message in (("framed", FRAME[lang].format(payload)), ("bare", payload)):
            start = time.perf_counter()
            status, replies = stack.request("/webhooks/rest/webhook", {"sender": sender, "message": message})
            turns.append(Turn(category, lang, payload, kind, status, replies, time.perf_counter() - start))
        return turns

    with ThreadPoolExecutor(4) as pool:
        turns = [turn for result in pool.map(converse, jobs) for turn in result]
    for category in TEXTS:
        mine = [t for t in turns if t.category == category]
        report.add(category, inputs=len(TEXTS[category]) * len(LANGUAGES), requests=len(mine),
                   **{"2xx": sum(t.status < 300 for t in mine), "4xx": sum(400 <= t.status < 500 for t in mine),
                      "5xx": sum(t.status >= 500 for t in mine)},
                   silent=sum(t.status == 200 and not t.texts for t in mine),
                   rate_limited=sum(any((identify(x) or _NONE).response == "utter_rate_limited" for x in t.texts)
                                    for t in mine))
    return {"turns": turns, "before": before}


class _NoMatch:
    response = language = None


_NONE = _NoMatch()


def _expected_languages(turn: Turn) -> set[str]:
    if turn.kind == "framed" or not WORDS.search(turn.payload) or turn.category in CODE:
        return {turn.lang}
    return set(LANGUAGES)


def _describe(kind: str, turn: Turn) -> tuple:
    return (kind, turn.category, turn.lang, turn.kind, repr(turn.payload)[:60], turn.status, turn.texts[:2])


def _check(turns: list[Turn], problem) -> tuple[list, list]:
    """(unexpected, known) problems over the turns as (kind, turn); ``problem(turn)`` -> kind or None."""
    unexpected, known = [], []
    for turn in turns:
        kind = problem(turn)
        if kind is not None:
            (known if (kind, turn.payload) in KNOWN else unexpected).append((kind, turn))
    return unexpected, known


def _no_longer_seen(kind: str, known: list) -> list[str]:
    seen = {turn.payload for k, turn in known if k == kind}
    return [payload for (k, payload) in KNOWN if k == kind and payload not in seen]


def test_no_server_error_and_no_silence(stack, corpus):
    unexpected, known = _check(corpus["turns"], lambda t: "5xx" if t.status >= 500 else
                               ("silent" if t.status == 200 and not t.texts else None))
    for _, turn in known:
        report.add(turn.category, known_issue=1)
    if _no_longer_seen("silent", known):
        print(f"\nknown silences no longer seen (remove them from KNOWN): {_no_longer_seen('silent', known)}")
    status, _ = stack.request("/status", token=True)
    assert status == 200  # still up
    assert not unexpected, [_describe(*u) for u in unexpected]


def test_replies_are_ours_and_in_the_users_language(corpus):
    def problem(turn: Turn):
        if turn.status != 200 or not turn.texts:
            return None
        if any(identify(x) is None for x in turn.texts):
            return "unclear"
        return None if languages(turn.replies) <= _expected_languages(turn) else "language"

    unexpected, known = _check(corpus["turns"], problem)
    for category in TEXTS:
        mine = [t for t in corpus["turns"] if t.category == category and t.texts]
        report.add(category, clear_in_language=sum(problem(t) is None for t in mine),
                   other_language=sum(problem(t) == "language" for t in mine))
    for _, turn in known:
        report.add(turn.category, known_issue=1)
    if _no_longer_seen("language", known):
        print(f"\nknown language switches no longer seen (remove them from KNOWN): {_no_longer_seen('language', known)}")
    assert not unexpected, [_describe(*u) for u in unexpected]


def test_nothing_disclosed_evaluated_or_changed(stack, corpus):
    def problem(turn: Turn):
        for reply in turn.texts:
            match = identify(reply) or _NONE
            if match.response and DISCLOSING.match(match.response):
                return "disclosure"
            if any(p in reply for p in PERSONAL):
                return "disclosure"
            if any(e in reply and e not in FRAME[turn.lang] for e in EVALUATED):
                return "echo"
        return None

    unexpected, _ = _check(corpus["turns"], problem)
    for category in TEXTS:
        report.add(category, disclosures=sum(problem(t) is not None for t in corpus["turns"] if t.category == category))
    assert not unexpected, [_describe(*u) for u in unexpected]
    assert orders_snapshot(stack.database_url) == corpus["before"]  # SQL in the text changed nothing


@pytest.mark.parametrize("label, body, content_type", [pytest.param(*b, id=b[0]) for b in BODIES])
def test_malformed_bodies_get_no_server_error(stack, label, body, content_type):
    status, answer = stack.request("/webhooks/rest/webhook", raw=body, headers={"Content-Type": content_type})
    report.add("malformed_body", inputs=1, requests=1, **{"2xx": status < 300, "4xx": 400 <= status < 500,
                                                          "5xx": status >= 500})
    assert status < 500, (status, answer)
    if status == 200:
        assert isinstance(answer, list)


@pytest.mark.timeout(300)
def test_100kb_messages_are_answered_and_cut(stack):
    """A 100 KB message must neither crash nor stall the server: parsing runs on Rasa's event loop
    (while one message is parsed, every other conversation waits), so the channel cuts messages at
    CHAT_MAX_MESSAGE_CHARS before the NLU sees them. Timing is `make bench`'s business; this checks
    the cut, which is what bounds the time."""
    limit = int(stack.env.get("CHAT_MAX_MESSAGE_CHARS") or 2000)
    turns = []
    for lang in LANGUAGES:
        for payload in HUGE_TEXTS[lang]:
            sender = f"abuse-huge-{lang}-{uuid.uuid4().hex[:8]}"
            status, replies = stack.request("/webhooks/rest/webhook", {"sender": sender, "message": payload},
                                            timeout=60)
            stored = [e.get("text") or "" for e in stack.tracker(sender)["events"] if e["event"] == "user"]
            turns.append((lang, payload[:20], status, replies, stored))
    report.add("huge_100kb", inputs=len(turns), requests=len(turns),
               **{"2xx": sum(t[2] < 300 for t in turns), "4xx": sum(400 <= t[2] < 500 for t in turns),
                  "5xx": sum(t[2] >= 500 for t in turns)},
               silent=sum(t[2] == 200 and not t[3] for t in turns))
    assert all(status < 500 for _, _, status, _, _ in turns), turns
    assert all(replies for _, _, status, replies, _ in turns if status == 200)
    assert all(stored and all(len(text) <= limit for text in stored) for *_, stored in turns)
