"""Fast intent-classifier sweep: our pipeline's real featurizers, run in-process, + sklearn.

    .venv/bin/python tests/benchmarks/sweep_intents.py

Runs LanguageDetector, LanguageAwareTokenizer, RegexFeaturizer and CountVectorsFeaturizer
variants exactly as Rasa does (same classes, same configs), then fits LogisticRegression variants
on the sentence features and scores the held-out splits at the intent level (faq counted as
``faq``; the topic is the ResponseSelector's job). Seconds per variant instead of minutes per
training: use it to choose, then confirm with ``eval_nlu.py``.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix, hstack, vstack  # noqa: E402
from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from bot.components.language import LanguageDetector  # noqa: E402
from bot.components.tokenizer import LanguageAwareTokenizer  # noqa: E402

LANGS = ("en", "fr", "sw")
_storage = LocalModelStorage(Path(tempfile.mkdtemp()))
_context = ExecutionContext(GraphSchema({}), "sweep")


def make(cls, name, **config):
    return cls.create({**cls.get_default_config(), **config}, _storage, Resource(name), _context)


def prepare():
    td = load_data(str(ROOT / "data" / "nlu"))
    det = make(LanguageDetector, "lang")
    det.train(td)
    det.process_training_data(td)
    tok = make(LanguageAwareTokenizer, "tok")
    tok.process_training_data(td)
    tests = {}
    for lang in LANGS:
        examples = load_data(str(ROOT / "tests" / "nlu" / lang / "test.yml")).intent_examples
        msgs = [Message(data={"text": e.get("text")}) for e in examples]
        det.process(msgs)
        tok.process(msgs)
        tests[lang] = (msgs, [e.get("intent") for e in examples])
    return td, tests


def features(td, tests, name, cls, **config):
    """Sentence features of one featurizer for train and every test split (copies messages)."""
    comp = make(cls, name, **config)
    if hasattr(comp, "train"):
        comp.train(td)
    examples = [e for e in td.intent_examples if e.get("intent") and e.get("text")]
    train_msgs = [Message(data=dict(e.data)) for e in examples]
    comp.process(train_msgs)
    X = vstack([_sentence(m) for m in train_msgs]).tocsr()
    Xt = {}
    for lang, (msgs, _) in tests.items():
        copies = [Message(data=dict(m.data)) for m in msgs]
        comp.process(copies)
        Xt[lang] = vstack([_sentence(m) for m in copies]).tocsr()
    return X, Xt


def _sentence(message):
    sparse = message.get_sparse_features("text")[1]
    return csr_matrix(sparse.features) if sparse else csr_matrix((1, 0))


def labels(td):
    examples = [e for e in td.intent_examples if e.get("intent") and e.get("text")]
    return [e.get("intent") for e in examples]


def score(clf, X, y, Xt, tests):
    start = time.perf_counter()
    clf.fit(X, y)
    fit = time.perf_counter() - start
    accs = {}
    for lang, (_, gold) in tests.items():
        pred = clf.predict(Xt[lang])
        accs[lang] = float(np.mean([p == g for p, g in zip(pred, gold)]))
    return accs, fit


def main():
    from sklearn.linear_model import LogisticRegression

    td, tests = prepare()
    y = labels(td)
    blocks = {
        "regex": features(td, tests, "re", RegexFeaturizer),
        "word": features(td, tests, "w", CountVectorsFeaturizer, max_features=6000),
        "word12": features(td, tests, "w12", CountVectorsFeaturizer, min_ngram=1, max_ngram=2),
        "char25": features(td, tests, "c25", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=2,
                           max_ngram=5, min_df=2, max_features=8000),
        "char15": features(td, tests, "c15", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=1,
                           max_ngram=5, min_df=2),
        "char14": features(td, tests, "c14", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=1,
                           max_ngram=4),
        "char36": features(td, tests, "c36", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=3,
                           max_ngram=6, min_df=2),
    }
    combos = [("regex", "word", "char25"), ("regex", "word12", "char25"), ("regex", "word12", "char36"),
              ("regex", "word12", "char15")]
    solvers = [("lbfgs", 200), ("liblinear", 100), ("newton-cg", 100)]
    for combo, (solver, iters) in itertools.product(combos, solvers):
        X = hstack([blocks[b][0] for b in combo]).tocsr()
        Xt = {lang: hstack([blocks[b][1][lang] for b in combo]).tocsr() for lang in LANGS}
        clf = LogisticRegression(C=1.0, max_iter=iters, class_weight="balanced", solver=solver)
        accs, fit = score(clf, X, y, Xt, tests)
        print(f"{'+'.join(combo):24s} {solver:10s} " + " ".join(f"{k} {v:.3f}" for k, v in accs.items())
              + f"  mean {np.mean(list(accs.values())):.3f}  fit {fit:.1f}s  dims {X.shape[1]}", flush=True)


if __name__ == "__main__":
    main()
