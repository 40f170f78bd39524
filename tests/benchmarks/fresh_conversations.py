"""Whole conversations on phrasings nobody here wrote (``make eval``, after the NLU tables).

    .venv/bin/python tests/benchmarks/fresh_conversations.py [--seeds 3] [--phrases tests/conversations/fresh]

The conversation matrix (``tests/conversations/matrix.yml``) is played through the real servers, as
``make test`` plays it, but every ``{say:key}`` is taken from ``tests/conversations/fresh/<lang>/
phrases.yml``: three phrasings per key written by people who saw neither the training data nor
our phrasebooks, only what each key means (see that directory's README). Each seed picks another
phrasing per conversation. Printed: the share of conversations that went exactly as the matrix
says, per language and seed, and for each failure the turn and what went wrong (response names,
never the phrasing: the set is for measuring, not for tuning the data).

It is a benchmark, not a gate: a phrasing the NLU misreads fails its conversation, which is what it
measures.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "fr", "sw")
SEEDS = ("", "second", "third", "fourth", "fifth")
REPORT = ROOT / "results" / "conversations" / "fresh.md"
CASE = re.compile(r"test_conversation\[(\w+)/matrix/(.*)\]$")
DETOUR = re.compile(r"responses \['utter_faq/\w+', 'utter_offer_\w+'\], expected \['utter_(ask_order_id|choose_order|ask_cancel_reason)'\]")


def play(phrases: Path, seed: str) -> dict[str, dict[str, str | None]]:
    """{lang: {conversation: None if it passed, else the first lines of its failure}}."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        env = {**os.environ, "CONVERSATION_PHRASES": str(phrases), "CONVERSATION_SEED": seed}
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests/conversations/test_conversations.py", "-k", "matrix",
             "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        outcome: dict[str, dict[str, str | None]] = defaultdict(dict)
        for case in ET.parse(junit).getroot().iter("testcase"):
            found = CASE.match(case.get("name", ""))
            if not found:
                continue
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            outcome[found.group(1)][found.group(2)] = None if failure is None else summary(failure)
        return outcome


def summary(failure: ET.Element) -> str:
    """Where and how it failed, without the transcript (which holds the phrasings)."""
    text = failure.get("message", "") + "\n" + (failure.text or "")
    where = re.search(r"failed (at turn \d+|after the last turn)", text)
    problems = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- ") and "user:" not in line and line[2:] not in problems:
            problems.append(line[2:])
    return f"{where.group(1) if where else 'error'}: " + "; ".join(problems[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help=f"phrasings per conversation, at most {len(SEEDS)}")
    parser.add_argument("--phrases", default=str(ROOT / "tests" / "conversations" / "fresh"))
    args = parser.parse_args()
    runs = [(seed or "first", play(Path(args.phrases), seed)) for seed in SEEDS[: args.seeds]]
    out = ["# Conversations on phrasings nobody here wrote", "",
           f"The matrix played with `{Path(args.phrases).relative_to(ROOT)}`, {len(runs)} phrasing(s) per "
           "conversation (`tests/benchmarks/fresh_conversations.py`). \"Policy detours\": failures where a "
           "request got the policy answer and the offer to do it (\"Shall I cancel an order for you?\") "
           "instead of the skill's first question, one \"yes\" away from the expected path.", "",
           "| language | " + " | ".join(f"seed {name}" for name, _ in runs) + " | all | policy detours |",
           "|---|" + "---:|" * (len(runs) + 2)]
    for lang in LANGS:
        cells, passed, total, detours = [], 0, 0, 0
        for _, outcome in runs:
            results = outcome.get(lang, {})
            ok = sum(1 for value in results.values() if value is None)
            detours += sum(1 for value in results.values() if value and DETOUR.search(value))
            cells.append(f"{ok}/{len(results)}")
            passed, total = passed + ok, total + len(results)
        share = f"**{passed / total:.3f}**" if total else "-"
        out.append(f"| {lang} | " + " | ".join(cells) + f" | {share} | {detours} |")
    out += ["", "Failures (conversation: turn, what went wrong):", ""]
    for name, outcome in runs:
        for lang in LANGS:
            for conversation, failure in sorted(outcome.get(lang, {}).items()):
                if failure is not None:
                    out.append(f"- seed {name}, {lang}, {conversation}: {failure}")
    text = "\n".join(out) + "\n"
    print(text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
