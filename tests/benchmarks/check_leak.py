"""No evaluation sentence may be training data: exit 1 if one appears in data/nlu.

    .venv/bin/python tests/benchmarks/check_leak.py [extra.txt ...]

Compares accent-, case- and punctuation-folded texts of data/nlu (and of any extra files, one
sentence per line, "- " prefixes allowed) with every utterance of ../shared/eval-data:
MASSIVE 1.1 (en/fr/sw, all partitions), Bitext, Banking77, CLINC150 and NLU++ (sentences of
4+ words), and with the held-out split tests/nlu (any length).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bot.components.text import fold  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval-data"


def norm(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\{[^}]*\}|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or m.group(2), text)
    return " ".join(re.findall(r"\w+", fold(text)))


def public_sentences() -> set[str]:
    import eval_nlu

    out: set[str] = set()
    massive = EVAL / "massive-1.1"
    for path in massive.glob("*.jsonl"):
        for line in open(path, encoding="utf-8"):
            out.add(norm(json.loads(line)["utt"]))
    for name in ("en-fr.xlsx", "en-sw.xlsx"):
        for cells in eval_nlu._xlsx_rows(massive / name)[1:]:
            out.update(norm(cells.get(c, "")) for c in ("C", "D"))
    bitext = EVAL / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with open(bitext, encoding="utf-8", newline="") as handle:
        out.update(norm(r["instruction"]) for r in csv.DictReader(handle))
    for name in ("train.csv", "test.csv"):
        with open(EVAL / "banking77" / name, encoding="utf-8", newline="") as handle:
            out.update(norm(r[0]) for r in csv.reader(handle))
    clinc = json.loads((EVAL / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    for rows in clinc.values():
        out.update(norm(r[0]) for r in rows)
    for path in (EVAL / "nlupp").rglob("fold*.json"):
        for row in json.loads(path.read_text(encoding="utf-8")):
            out.add(norm(row.get("text", "")))
    out.discard("")
    return out


def ours(extra: list[str]) -> list[tuple[str, str]]:
    rows = []
    files = sorted((ROOT / "data" / "nlu").rglob("*.yml")) + [Path(p) for p in extra]
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*- (.+)$", line)
            if match and not line.strip().startswith("- intent:"):
                rows.append((f"{path.name}", match.group(1)))
    return rows


MIN_WORDS = 4  # "hi", "thank you", "where is my order" are everyone's words, not copies


def heldout_sentences() -> set[str]:
    out = set()
    for path in (ROOT / "tests" / "nlu").rglob("*.yml"):
        if path.parent.name == "openings":  # first messages by key, not the held-out split (own check)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*- (.+)$", line)
            if match and not line.strip().startswith("- intent:"):
                out.add(norm(match.group(1)))
    return out


def main() -> int:
    heldout = heldout_sentences()
    duplicates = [(f, t) for f, t in ours(sys.argv[1:]) if norm(t) in heldout]
    for f, t in duplicates:
        print(f"HELD-OUT {f}: {t}")
    public = public_sentences()
    found = [(f, t) for f, t in ours(sys.argv[1:]) if norm(t) in public]
    leaks = [(f, t) for f, t in found if len(norm(t).split()) >= MIN_WORDS]
    for f, t in leaks:
        print(f"LEAK {f}: {t}")
    print(f"{len(leaks)} training sentences of {MIN_WORDS}+ words found in the public evaluation sets "
          f"({len(found) - len(leaks)} shorter stock phrases ignored; {len(public)} public sentences)")
    print(f"{len(duplicates)} training sentences also in the held-out split tests/nlu")
    return 1 if leaks or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
