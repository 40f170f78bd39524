"""Language-ID check without training a Rasa model: ``detect()`` on the held-out splits.

    .venv/bin/python tests/benchmarks/lid_check.py [--massive 300] [--errors] [--blind]

Learns the vocabulary model from data/nlu exactly as ``LanguageDetector.train`` does and reports
accuracy for sentences and for 1-3-word messages per language (same buckets as eval_nlu.py),
plus, with --massive, on MASSIVE rows (evaluation only), and with --blind on the blind set: accuracy
alone and in conversation, misses counted by (gold -> detected, signal, length): never its texts.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402

from bot.components.language import LanguageDetector, LanguageModel, detect, requested_language  # noqa: E402
from bot.components.text import words  # noqa: E402

LANGS = ("en", "fr", "sw")


def train_model() -> LanguageModel:
    examples = []
    for ex in load_data(str(ROOT / "data" / "nlu")).intent_examples:
        lang = LanguageDetector.example_language(ex)
        if lang and ex.get("text"):
            examples.append((ex.get("text"), lang))
    counts = LanguageModel.from_examples(examples).counts
    return LanguageModel(counts, LanguageDetector.get_default_config()["alpha"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--massive", type=int, default=0)
    parser.add_argument("--errors", action="store_true", help="print the held-out/MASSIVE misses")
    parser.add_argument("--blind", action="store_true", help="blind-set aggregates (no texts)")
    args = parser.parse_args()
    model = train_model()
    min_conf = LanguageDetector.get_default_config()["min_confidence"]
    start = time.perf_counter()
    total = {"sentences": [0, 0], "short": [0, 0]}
    for lang in LANGS:
        buckets = {"sentences": [0, 0], "short": [0, 0]}
        errors = []
        for ex in load_data(str(ROOT / "tests" / "nlu" / lang / "test.yml")).intent_examples:
            text = ex.get("text")
            if not words(text):
                continue  # an e-mail, a phone or an order number alone has no language
            got, conf, signal = detect(text, model, min_conf)
            gold = lang
            if ex.get("intent") == "switch_language":  # the parse reports the requested language
                gold = next((e["value"] for e in ex.get("entities") or [] if e["entity"] == "language"), lang)
                got = requested_language(text) or got
            bucket = "short" if len(text.split()) <= 3 else "sentences"
            buckets[bucket][0] += got == gold
            buckets[bucket][1] += 1
            if got != gold:
                errors.append(f"{text!r} -> {got} {conf:.2f} signal={signal}")
        for k in total:
            total[k][0] += buckets[k][0]
            total[k][1] += buckets[k][1]
        print(f"{lang}: sentences {buckets['sentences'][0] / buckets['sentences'][1]:.3f} "
              f"({buckets['sentences'][1]})  1-3 words {buckets['short'][0] / buckets['short'][1]:.3f} "
              f"({buckets['short'][1]})")
        if args.errors:
            for e in errors:
                print("    ", e)
    print(f"all: sentences {total['sentences'][0] / total['sentences'][1]:.3f}  "
          f"1-3 words {total['short'][0] / total['short'][1]:.3f}")
    if args.massive:
        import eval_nlu

        for lang, rows in eval_nlu.massive(args.massive).items():
            ok = 0
            errors = []
            for row in rows:
                got, conf, signal = detect(row["text"], model, min_conf)
                ok += got == lang
                if got != lang:
                    errors.append(f"{row['text']!r} -> {got} {conf:.2f} signal={signal}")
            print(f"massive {lang}: {ok / len(rows):.3f} ({len(rows)})")
            if args.errors:
                for e in errors[:15]:
                    print("    ", e)
    if args.blind:
        import eval_nlu

        for lang in LANGS:
            alone = conversation = n = 0
            misses: Counter = Counter()
            for row in eval_nlu.blind(lang):
                if not row["has_letters"]:
                    continue
                got, _, signal = detect(row["text"], model, min_conf)
                followed, _, followed_signal = detect(row["text"], model, min_conf, conversation=lang)
                if row["language"] != lang:  # switch_language: LanguageSwitch reports the request
                    got = requested_language(row["text"]) or got
                    followed = requested_language(row["text"]) or followed
                elif not followed_signal:
                    followed = lang
                n += 1
                alone += got == row["language"]
                conversation += followed == row["language"]
                if got != row["language"]:
                    size = "1-3 words" if len(row["text"].split()) <= 3 else "sentence"
                    misses[f"{row['language']}->{got} signal={signal} {size}"] += 1
            print(f"blind {lang}: alone {alone / n:.3f} in conversation {conversation / n:.3f} ({n}) "
                  + "; ".join(f"{k} x{c}" for k, c in misses.most_common()))
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
