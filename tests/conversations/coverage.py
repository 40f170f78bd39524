"""What share of the assistant the conversation tests reach, per language.

Universe: every response of the domain (FAQ topics one by one), every custom action and form, every
reason code the order service can answer a skill with (``rules.REFUSALS`` + the outcomes of writes +
``order_not_found``), and every slot each form asks for. Reached: seen in a conversation that passed.
Things no conversation can reach on purpose are listed with a reason in ``unreachable.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from actions.orders.rules import REFUSALS, Code
from bot.rasa_ext.slot_mappings import IN_PROCESS_ACTIONS
from tests.conversations.runner import HERE, LANGS

ROOT = HERE.parents[1]
OUTCOMES = {Code.CANCELLED, Code.CANCELLATION_REQUESTED, Code.RESUMED, Code.DISPUTE_OPENED,
            Code.DISPUTE_REOPENED, Code.DISPUTE_WITHDRAWN, Code.ORDER_NOT_FOUND}
TARGETS = {"actions": 1.0, "codes": 1.0, "responses": 0.95, "form slots": 1.0}


def domain() -> dict[str, Any]:
    merged: dict[str, Any] = {"responses": {}, "actions": [], "forms": {}}
    for path in sorted((ROOT / "bot" / "domain").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["responses"].update(data.get("responses") or {})
        merged["actions"] += data.get("actions") or []
        merged["forms"].update(data.get("forms") or {})
    return merged


def unreachable() -> dict[str, dict[str, str]]:
    return yaml.safe_load((HERE / "unreachable.yml").read_text(encoding="utf-8"))


def universe() -> dict[str, set[str]]:
    d = domain()
    # A form's validation and its "ask" action run inside the form, and the slot mappings that run in
    # the Rasa server (language, handoff relay) inside its slot extraction: none is an action of its
    # own in the conversation, so a form counts for its validation and question, a mapping for what it
    # says (utter_handoff_ack for the relay).
    return {
        "responses": set(d["responses"]),
        "actions": {a for a in d["actions"]
                    if not a.startswith("validate_") and a not in (*IN_PROCESS_ACTIONS, "action_ask_order_id")}
        | set(d["forms"]),
        "codes": set(REFUSALS) | OUTCOMES,
        "form slots": {f"{form}.{slot}" for form, spec in d["forms"].items() for slot in spec["required_slots"]},
    }


@dataclass
class Row:
    lang: str
    kind: str
    reached: int
    total: int
    missing: list[str]

    @property
    def share(self) -> float:
        return self.reached / self.total if self.total else 1.0


def table(seen: dict[str, dict[str, set[str]]]) -> list[Row]:
    everything = universe()
    excluded = unreachable()
    rows = []
    for lang in LANGS:
        for kind, names in everything.items():
            skip = set(excluded.get(kind) or {})
            wanted = names - skip
            got = seen.get(lang, {}).get(kind, set()) & wanted
            rows.append(Row(lang, kind, len(got), len(wanted), sorted(wanted - got)))
    return rows


def render(rows: list[Row], limit: int | None = None) -> str:
    lines = ["| lang | kind | reached | share | target | not reached |", "|---|---|---:|---:|---:|---|"]
    for row in rows:
        shown = row.missing[:limit] if limit else row.missing
        missing = ", ".join(shown) + (f" (+{len(row.missing) - len(shown)})" if len(shown) < len(row.missing) else "")
        missing = missing or "-"
        lines.append(f"| {row.lang} | {row.kind} | {row.reached}/{row.total} | {row.share:.0%} | "
                     f"{TARGETS[row.kind]:.0%} | {missing} |")
    excluded = unreachable()
    lines.append("")
    lines.append("Unreachable on purpose (tests/conversations/unreachable.yml): " + "; ".join(
        f"{name} ({reason})" for kind in excluded for name, reason in (excluded[kind] or {}).items()))
    return "\n".join(lines)


def save(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(rows) + "\n", encoding="utf-8")
