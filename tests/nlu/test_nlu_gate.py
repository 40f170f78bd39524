"""NLU gate: per-language minimums on the model `make train` builds, so that a data or pipeline
change that breaks one language fails CI.

Two sets, scored exactly as ``make eval`` scores them (``tests/benchmarks/eval_nlu.py``):

* the own held-out split ``tests/nlu/<lang>/test.yml`` (exact label, FAQ topic included);
* the blind set ``tests/nlu/blind/<lang>.yml`` (intent level: ``faq/<topic>`` collapsed to ``faq``,
  a message's ``accept`` labels count as right), and its language ID in conversation;
* the second blind set ``tests/nlu/blind2/<lang>.yml``, the same way.

The minimums sit a little under what the model reached when they were set (docs/nlu.md): a
change that costs a language a few messages fails. Failures report aggregates and label pairs
only, never a blind message's text (Rasa's per-message debug log is switched off too).
"""

from __future__ import annotations

import logging
import sys

import pytest

from tests.conftest import ROOT
from tests.harness import served_model

sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

LANGS = ("en", "fr", "sw")
HELDOUT_MIN = {"en": 0.96, "fr": 0.96, "sw": 0.96}
BLIND_MIN = {"en": 0.94, "fr": 0.94, "sw": 0.94}
BLIND_LID_MIN = {"en": 0.99, "fr": 0.98, "sw": 0.98}
# Set when it was frozen (model-1c45b5098ef9: 0.982 / 0.933 / 0.970): French was the weakest language there.
# French raised to 0.94 once the round-8 vocabulary brought it to 0.958 (model-f98b37b5aa4f).
BLIND2_MIN = {"en": 0.96, "fr": 0.94, "sw": 0.95}
BLIND2_LID_MIN = {"en": 0.99, "fr": 0.99, "sw": 0.99}


@pytest.fixture(scope="module")
def parser():
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # the processor logs every parsed text at debug level
    import eval_nlu

    return eval_nlu.Parser(served_model())


@pytest.mark.parametrize("lang", LANGS)
def test_heldout_intent_accuracy(parser, lang):
    import eval_nlu

    examples = eval_nlu.heldout(lang)
    errors = []
    for ex in examples:
        predicted = eval_nlu.full_intent(parser.parse(ex["text"])[0])
        if predicted != ex["intent"]:
            errors.append(f"{ex['intent']} -> {predicted}")
    accuracy = 1 - len(errors) / len(examples)
    assert accuracy >= HELDOUT_MIN[lang], (
        f"held-out {lang}: {accuracy:.3f} < {HELDOUT_MIN[lang]}; errors: {sorted(errors)}")


@pytest.mark.parametrize("lang", LANGS)
def test_blind_intent_accuracy_and_language(parser, lang):
    import eval_nlu

    scores = eval_nlu.score_blind(parser, eval_nlu.blind(lang), lang, has_lid=True)
    assert scores["intent_acc"] >= BLIND_MIN[lang], (
        f"blind {lang}: {scores['intent_acc']:.3f} < {BLIND_MIN[lang]}; by kind {scores['by_kind']}; "
        f"confusions {scores['top_errors']}")
    assert scores["lid_in_conversation"] >= BLIND_LID_MIN[lang], (
        f"blind {lang} language ID in conversation: {scores['lid_in_conversation']:.3f} < {BLIND_LID_MIN[lang]}")


@pytest.mark.parametrize("lang", LANGS)
def test_second_blind_set_intent_accuracy_and_language(parser, lang):
    import eval_nlu

    scores = eval_nlu.score_blind(parser, eval_nlu.blind(lang, eval_nlu.BLIND2), lang, has_lid=True)
    assert scores["intent_acc"] >= BLIND2_MIN[lang], (
        f"blind2 {lang}: {scores['intent_acc']:.3f} < {BLIND2_MIN[lang]}; by kind {scores['by_kind']}; "
        f"confusions {scores['top_errors']}")
    assert scores["lid_in_conversation"] >= BLIND2_LID_MIN[lang], (
        f"blind2 {lang} language ID in conversation: {scores['lid_in_conversation']:.3f} < {BLIND2_LID_MIN[lang]}")
