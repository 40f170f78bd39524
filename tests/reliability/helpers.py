"""What the reliability and abuse tests check: which response (and language) a reply is, and what
the order database holds for an order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yaml
from sqlalchemy import create_engine, text

from tests.reliability.stack import ROOT

LANGUAGES = ("en", "fr", "sw")
PLACEHOLDER = re.compile(r"\\\{\w+\\\}")


@dataclass(frozen=True)
class Match:
    response: str
    language: str


@lru_cache(maxsize=1)
def _catalog() -> list[tuple[re.Pattern, Match]]:
    """Every variation of every response in bot/domain as an anchored pattern."""
    patterns = []
    for path in sorted((ROOT / "bot" / "domain").rglob("*.yml")):
        responses = (yaml.safe_load(path.read_text()) or {}).get("responses") or {}
        for name, variations in responses.items():
            for variation in variations:
                body = (variation.get("text") or "").strip()
                if not body:
                    continue
                language = next((c.get("value") for c in variation.get("condition") or []
                                 if c.get("name") == "language"), "en")
                pattern = PLACEHOLDER.sub(lambda _: "(?:.|\\n)*?", re.escape(body))
                patterns.append((re.compile(rf"^{pattern}$", re.S), Match(name, language)))
    return patterns


def identify(reply_text: str) -> Match | None:
    """The domain response (and its language) a bot message was rendered from, if any."""
    body = (reply_text or "").strip()
    for pattern, match in _catalog():
        if pattern.match(body):
            return match
    return None


def languages(replies: list[dict]) -> set[str]:
    """Languages of the replies' texts (responses that read the same in every language excluded)."""
    found = set()
    for reply in replies:
        match = identify(reply.get("text") or "")
        if match is not None:
            found.add(match.language)
    return found


def responses(replies: list[dict]) -> list[str | None]:
    return [(identify(r.get("text") or "") or Match("?", "?")).response for r in replies if r.get("text")]


# --- the order database ------------------------------------------------------------------------


def order_state(database_url: str, number: str) -> dict:
    """Everything a cancellation could have written for an order."""
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            order = connection.execute(
                text("SELECT id, status FROM orders WHERE number = :n"), {"n": number}).one()
            requests = connection.execute(
                text("SELECT id, status, reason FROM cancellation_requests WHERE order_id = :o ORDER BY id"),
                {"o": order.id}).all()
            keys = connection.execute(
                text("SELECT key, operation FROM idempotency_keys WHERE order_number = :n ORDER BY id"),
                {"n": number}).all()
            audit = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    finally:
        engine.dispose()
    return {
        "status": order.status,
        "requests": [tuple(r) for r in requests],
        "idempotency_keys": [tuple(k) for k in keys],
        "audit_rows": audit,
    }
