"""Settings of the FAQ topic model (``bot.components.faq_selector.LinearResponseSelector``), chosen
on the training data only: 2 x 5-fold cross-validation of the FAQ examples, stratified by topic,
topic accuracy per language, with our pipeline's real featurizers run in-process (as
``sweep_intents.py`` does). The held-out splits and the blind set are left to ``eval_nlu.py``.

    .venv/bin/python tests/benchmarks/sweep_faq.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

import numpy as np  # noqa: E402
import sweep_intents  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer  # noqa: E402
from scipy.sparse import hstack  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot.components.language import LanguageDetector  # noqa: E402

RETRIEVAL_INTENT = "faq"


def main() -> None:
    td, _ = sweep_intents.prepare(with_tests=False)
    examples = [e for e in td.intent_examples if e.get("intent") and e.get("text")]
    blocks = [sweep_intents.features(td, {}, name, cls, **cfg)[0] for name, cls, cfg in (
        ("re", RegexFeaturizer, {}),
        ("w12", CountVectorsFeaturizer, dict(min_ngram=1, max_ngram=2, max_features=12000)),
        ("c36", CountVectorsFeaturizer, dict(analyzer="char_wb", min_ngram=3, max_ngram=6, min_df=2)),
    )]
    faq = np.array([e.get("intent") == RETRIEVAL_INTENT for e in examples])
    X = hstack(blocks).tocsr()[faq]
    y = np.array([e.get_full_intent() for e in examples])[faq]
    lang = np.array([LanguageDetector.example_language(e) for e in examples])[faq]
    print(f"{len(y)} FAQ examples, {len(set(y))} topics; 2 x 5-fold CV, topic accuracy per language", flush=True)
    for class_weight, C in itertools.product((None, "balanced"), (0.5, 1.0, 2.0, 5.0, 10.0)):
        right = {code: 0 for code in sweep_intents.LANGS}
        total = dict(right)
        for seed in (0, 1):
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
                clf = LogisticRegression(C=C, class_weight=class_weight, solver="liblinear", max_iter=200)
                pred = clf.fit(X[train], y[train]).predict(X[test])
                for code in sweep_intents.LANGS:
                    mask = lang[test] == code
                    right[code] += int((pred[mask] == y[test][mask]).sum())
                    total[code] += int(mask.sum())
        print(f"class_weight={str(class_weight):8s} C={C:<4} "
              + " ".join(f"{code} {right[code] / total[code]:.4f}" for code in sweep_intents.LANGS), flush=True)


if __name__ == "__main__":
    main()
