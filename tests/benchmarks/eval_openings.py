"""First messages: does the whole NLU pipeline tell a request from a question about the rules?

    .venv/bin/python tests/benchmarks/eval_openings.py [--model PATH] [--verbose]

Scores ``tests/nlu/openings/<lang>.yml`` (first messages by what the buyer means, see its README)
on the model ``make train`` builds (or ``--model``): the intent after every component of the
pipeline (the rules of ``bot/components/`` included), against the intent of the key; the general
questions (``faq_*`` keys) are right when they get ``faq``. A development set: ``--verbose`` prints
the messages the model gets wrong.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OPENINGS = ROOT / "tests" / "nlu" / "openings"
# key -> the intent the bot should start with
EXPECTED = {"ask_cancel": "cancel_order", "ask_restore": "restore_order", "ask_withdraw": "cancel_dispute",
            "ask_dispute": "open_dispute", "ask_status": "order_status", "ask_not_received": "order_not_received",
            "ask_refund": "refund_status", "ask_human": "request_human", "faq_cancel_how": "faq",
            "faq_restore_how": "faq", "faq_withdraw_how": "faq", "faq_dispute_process": "faq"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="default: the model `make train` builds")
    parser.add_argument("--verbose", action="store_true", help="print the messages read wrong")
    args = parser.parse_args()
    model = args.model or ROOT / subprocess.run([sys.executable, str(ROOT / "bot" / "model_hash.py")],
                                                capture_output=True, text=True, check=True).stdout.strip()
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(Path(__file__).parent))
    from eval_nlu import Parser, full_intent

    nlu = Parser(model)
    print(f"# First messages (`tests/nlu/openings`), {model.name}\n")
    print("| lang | " + " | ".join(EXPECTED) + " | all |")
    print("|---|" + "---:|" * (len(EXPECTED) + 1))
    wrong = []
    for lang in ("en", "fr", "sw"):
        keys = yaml.safe_load((OPENINGS / f"{lang}.yml").read_text())
        cells, right_all, total = [], 0, 0
        for key, intent in EXPECTED.items():
            right = 0
            for text in keys[key]:
                result, _ = nlu.parse(text)
                if (result.get("intent") or {}).get("name") == intent:
                    right += 1
                else:
                    wrong.append(f"- {lang} {key}: {full_intent(result)} | {text}")
            cells.append(f"{right}/{len(keys[key])}")
            right_all += right
            total += len(keys[key])
        print(f"| {lang} | " + " | ".join(cells) + f" | **{right_all / total:.3f}** |")
    if args.verbose and wrong:
        print("\nRead wrong:\n" + "\n".join(wrong))


if __name__ == "__main__":
    main()
