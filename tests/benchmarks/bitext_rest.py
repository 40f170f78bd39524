"""Bitext rows of the mapped intents that ``eval_nlu.py`` does not score: a wider development view.

    .venv/bin/python tests/benchmarks/bitext_rest.py models/<model>.tar.gz [--show]

``make eval`` scores a fixed 300-row sample; reading its misses to choose data makes that score
optimistic. The other ~1 000 rows of the same intents show whether a change generalises beyond the
rows that were read (evaluation only: never copy them into ``data/nlu``).
"""

from __future__ import annotations

import csv
import logging
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_nlu import BITEXT_CSV, BITEXT_MAP, ORDER_PLACEHOLDER, Parser, bitext, full_intent  # noqa: E402

logging.disable(logging.WARNING)


def main() -> None:
    model, show = Path(sys.argv[1]), "--show" in sys.argv
    scored = {row["text"] for row in bitext(300)}
    with open(BITEXT_CSV, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["intent"] in BITEXT_MAP and r["instruction"] not in scored]
    rng = random.Random(7)
    parser = Parser(model)
    right, total, confusions = Counter(), Counter(), Counter()
    for row in rows:
        number = "8170" + "".join(str(rng.randrange(10)) for _ in range(12))
        text = ORDER_PLACEHOLDER.sub(number, row["instruction"])
        predicted = full_intent(parser.parse(text)[0])
        total[row["intent"]] += 1
        if predicted in BITEXT_MAP[row["intent"]]:
            right[row["intent"]] += 1
            continue
        confusions[(row["intent"], predicted.split("/")[0])] += 1
        if show:
            print(f"{row['intent']:20s} -> {predicted:24s} | {text}")
    for intent in sorted(total):
        print(f"{intent:22s} {right[intent]}/{total[intent]} {right[intent] / total[intent]:.3f}")
    print("top confusions", confusions.most_common(8))
    print(f"mapped accuracy {sum(right.values())}/{sum(total.values())} "
          f"= {sum(right.values()) / sum(total.values()):.3f}")


if __name__ == "__main__":
    main()
