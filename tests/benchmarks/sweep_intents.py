"""Fast intent-classifier sweep: our pipeline's real featurizers, run in-process, + sklearn.

    .venv/bin/python tests/benchmarks/sweep_intents.py        # featurizer variants, held-out splits
    .venv/bin/python tests/benchmarks/sweep_intents.py --cv   # classifier settings, training data only
    .venv/bin/python tests/benchmarks/sweep_intents.py --quick  # our config: CV, held-out, blind, MASSIVE, Bitext
    SWEEP_GRID="SWEEP_C=1;SWEEP_FAQ_MARGIN=0.15" ... --quick      # several settings on one featurization
    SWEEP_DENSE=emb.pkl SWEEP_GRID="SWEEP_DENSE_W=4,SWEEP_CASCADE=0.55" ... --quick   # second stage

Runs LanguageDetector, LanguageAwareTokenizer, RegexFeaturizer and CountVectorsFeaturizer
variants exactly as Rasa does (same classes, same configs), then fits LogisticRegression variants
on the sentence features and scores the held-out splits at the intent level (faq counted as
``faq``; the topic is the ResponseSelector's job). Seconds per variant instead of minutes per
training: use it to choose, then confirm with ``eval_nlu.py``.

``--cv`` chooses the classifier's settings (class weighting, C) without looking at the held-out
splits: 2 x 5-fold cross-validation on the training data, stratified by intent (FAQ topic
included), accuracy per language at the intent level. The featurizers' vocabularies are fitted on
all the training data; only the classifier is refitted per fold.
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
from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer  # noqa: E402
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from scipy.sparse import csr_matrix, hstack, vstack  # noqa: E402

from bot.components.language import LanguageDetector  # noqa: E402
from bot.components.tokenizer import LanguageAwareTokenizer  # noqa: E402

LANGS = ("en", "fr", "sw")
_storage = LocalModelStorage(Path(tempfile.mkdtemp()))
_context = ExecutionContext(GraphSchema({}), "sweep")


def make(cls, name, **config):
    return cls.create({**cls.get_default_config(), **config}, _storage, Resource(name), _context)


def prepare(with_tests=True):
    td = load_data(str(ROOT / "data" / "nlu"))
    det = make(LanguageDetector, "lang")
    det.train(td)
    det.process_training_data(td)
    tok = make(LanguageAwareTokenizer, "tok")
    tok.process_training_data(td)
    tests = {}
    if not with_tests:
        return td, tests
    for lang in LANGS:
        examples = load_data(str(ROOT / "tests" / "nlu" / lang / "test.yml")).intent_examples
        msgs = [Message(data={"text": e.get("text")}) for e in examples]
        det.process(msgs)
        tok.process(msgs)
        tests[lang] = (msgs, [e.get("intent") for e in examples])
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import eval_nlu

    for lang, rows in eval_nlu.massive(300).items():  # evaluation only: must be rejected
        msgs = [Message(data={"text": r["text"]}) for r in rows]
        det.process(msgs)
        tok.process(msgs)
        tests[f"massive_{lang}"] = (msgs, ["REJECT"] * len(msgs))
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


# How-to FAQ topics whose skill is also a right answer (the blind and hidden sets accept both).
FAQ_TOPIC_SKILL = {
    "faq/cancel_how": "cancel_order",
    "faq/restore_cancelled": "restore_order",
    "faq/withdraw_dispute_how": "cancel_dispute",
}
FAQ_SKILLS = {"cancel_order", "restore_order", "order_status", "order_not_received", "open_dispute",
              "cancel_dispute", "refund_status", "request_human"}
REJECTED = {"out_of_scope", "nlu_fallback", "greet", "goodbye", "thank", "bot_challenge"}


def score(clf, X, y, Xt, tests, threshold=0.3, ambiguity=0.05):
    """Accuracy per split after Rasa's FallbackClassifier rule; MASSIVE splits: share rejected."""
    start = time.perf_counter()
    clf.fit(X, y)
    fit = time.perf_counter() - start
    accs = {}
    for name, (_, gold) in tests.items():
        probs = clf.predict_proba(Xt[name])
        order = np.argsort(-probs, axis=1)
        pred = []
        for row, idx in zip(probs, order, strict=True):
            top, second = row[idx[0]], row[idx[1]]
            fallback = top < threshold or top - second < ambiguity
            pred.append("nlu_fallback" if fallback else clf.classes_[idx[0]])
        if name.startswith("massive"):
            accs[name] = float(np.mean([p in REJECTED for p in pred]))
        else:
            accs[name] = float(np.mean([p == g for p, g in zip(pred, gold, strict=True)]))
    return accs, fit


def cross_validate(td):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    examples = [e for e in td.intent_examples if e.get("intent") and e.get("text")]
    y = np.array(labels(td))
    strata = np.array([e.get_full_intent() for e in examples])
    lang = np.array([LanguageDetector.example_language(e) for e in examples])
    blocks = [features(td, {}, name, cls, **cfg)[0] for name, cls, cfg in (
        ("re", RegexFeaturizer, {}),
        ("w12", CountVectorsFeaturizer, dict(min_ngram=1, max_ngram=2, max_features=12000)),
        ("c36", CountVectorsFeaturizer, dict(analyzer="char_wb", min_ngram=3, max_ngram=6, min_df=2)),
    )]
    X = hstack(blocks).tocsr()
    print(f"{len(y)} training examples; 2 x 5-fold CV, intent accuracy per language", flush=True)
    for class_weight, C in itertools.product(("balanced", None), (0.5, 1.0, 2.0)):
        right, total = {lang_: 0 for lang_ in LANGS}, {lang_: 0 for lang_ in LANGS}
        for seed in (0, 1):
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, strata):
                clf = LogisticRegression(C=C, class_weight=class_weight, solver="liblinear", max_iter=100)
                pred = clf.fit(X[train], y[train]).predict(X[test])
                for lang_ in LANGS:
                    mask = lang[test] == lang_
                    right[lang_] += int((pred[mask] == y[test][mask]).sum())
                    total[lang_] += int(mask.sum())
        print(f"class_weight={str(class_weight):8s} C={C:<4} "
              + " ".join(f"{lang_} {right[lang_] / total[lang_]:.4f}" for lang_ in LANGS), flush=True)


def quick():
    """Our pipeline's intent classifier as configured, fitted once (seconds, not a Rasa training):
    intent-level accuracy of 5-fold CV on the training data, the held-out splits and the blind set
    (aggregates and label pairs only; faq topics collapsed, ``accept`` labels right), MASSIVE
    rejection. FallbackClassifier's thresholds and the identifier-only rule are applied."""
    from collections import Counter, defaultdict

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import eval_nlu

    from bot.components.identifiers import find_contacts, only_identifiers
    from bot.components.order_id import find_order_numbers

    td, tests = prepare()
    det = make(LanguageDetector, "lang2")
    det.train(td)
    tok = make(LanguageAwareTokenizer, "tok2")
    blind = {}
    for lang in LANGS:
        rows = eval_nlu.blind(lang)
        msgs = [Message(data={"text": r["text"]}) for r in rows]
        det.process(msgs)
        tok.process(msgs)
        tests[f"blind_{lang}"] = (msgs, [r["gold"][0] for r in rows])
        blind[lang] = rows
    bitext_rows = eval_nlu.bitext(300)  # evaluation only: scored as make eval scores it
    msgs = [Message(data={"text": r["text"]}) for r in bitext_rows]
    det.process(msgs)
    tok.process(msgs)
    tests["bitext"] = (msgs, [r["intent"] for r in bitext_rows])
    blocks = [features(td, tests, name, cls, **cfg) for name, cls, cfg in (
        ("re", RegexFeaturizer, {}),
        ("w12", CountVectorsFeaturizer, dict(min_ngram=1, max_ngram=2, max_features=12000)),
        ("c36", CountVectorsFeaturizer, dict(analyzer="char_wb", min_ngram=3, max_ngram=6, min_df=2)),
    )]
    X = hstack([b[0] for b in blocks]).tocsr()
    Xt = {name: hstack([b[1][name] for b in blocks]).tocsr() for name in tests}
    y = np.array(labels(td))
    examples = [e for e in td.intent_examples if e.get("intent") and e.get("text")]
    strata = np.array([e.get_full_intent() for e in examples])
    lang_of = np.array([LanguageDetector.example_language(e) for e in examples])

    dense = None
    if os.environ.get("SWEEP_DENSE"):
        # Experiment: pretrained sentence embeddings cached by text ({text: vector} pickle), made
        # outside the project's environment (docs/nlu.md, "Pretrained multilingual features").
        import pickle

        cache = pickle.load(open(os.environ["SWEEP_DENSE"], "rb"))  # noqa: SIM115
        dim = len(next(iter(cache.values())))
        missing = Counter()

        def embed(texts_, name):
            rows = []
            for t in texts_:
                rows.append(cache.get(t, np.zeros(dim, dtype=np.float32)))
                missing[name] += t not in cache
            return np.vstack(rows)

        dense = (embed([e.get("text") for e in examples], "train"),
                 {n: embed([m.get("text") for m in tests[n][0]], n) for n in tests})
        print("dense features; missing " + ", ".join(f"{k} {v}" for k, v in missing.items() if v))

    def run(cfg):
        C = float(cfg.get("SWEEP_C", "1.0"))  # noqa: N806
        nonlocal X, Xt
        w = float(cfg.get("SWEEP_DENSE_W", "0"))
        cascade = float(cfg.get("SWEEP_CASCADE", "0"))
        X_sparse, Xt_sparse = X, Xt  # noqa: N806
        if w and dense is not None:
            X = hstack([X_sparse, csr_matrix(w * dense[0])]).tocsr()  # noqa: N806
            Xt = {n: hstack([Xt_sparse[n], csr_matrix(w * dense[1][n])]).tocsr() for n in Xt_sparse}
        weight = cfg.get("SWEEP_CLASS_WEIGHT") or None
        if cfg.get("SWEEP_FAQ_WEIGHT"):
            weight = {"faq": float(cfg["SWEEP_FAQ_WEIGHT"])}
        margin = float(cfg.get("SWEEP_FAQ_MARGIN", "0"))
        threshold = float(cfg.get("SWEEP_THRESHOLD", "0.35"))

        solver = cfg.get("SWEEP_SOLVER", "liblinear")

        def new():
            return LogisticRegression(C=C, class_weight=weight, solver=solver,
                                      max_iter=int(cfg.get("SWEEP_MAX_ITER", "100")))

        def decide(classes, row):
            """Top intent; with a margin, a skill within ``margin`` of a top faq wins (faq_margin)."""
            order = np.argsort(-row)
            top = order[0]
            if margin and classes[top] == "faq" and classes[order[1]] in FAQ_SKILLS:
                if row[top] - row[order[1]] < margin:
                    top = order[1]
            return classes[top], row, order

        right, lenient = Counter(), Counter()
        for train, test in ([] if cfg.get("SWEEP_NO_CV") else StratifiedKFold(5, shuffle=True, random_state=0).split(X, strata)):
            fold = new().fit(X[train], y[train])
            pred = np.array([decide(fold.classes_, r)[0] for r in fold.predict_proba(X[test])])
            for lang_ in LANGS:
                mask = lang_of[test] == lang_
                right[lang_] += int((pred[mask] == y[test][mask]).sum())
                # how the blind/hidden sets score a how-to question: its skill is right too
                lenient[lang_] += sum(p == g or FAQ_TOPIC_SKILL.get(s) == p for p, g, s in zip(
                    pred[mask], y[test][mask], strata[test][mask], strict=True))
        print("CV      " + " ".join(f"{l_} {right[l_] / (lang_of == l_).sum():.3f}" for l_ in LANGS)
              + " | lenient " + " ".join(f"{l_} {lenient[l_] / (lang_of == l_).sum():.3f}" for l_ in LANGS))
        start = time.perf_counter()
        clf = new().fit(X, y)
        print(f"fit     {time.perf_counter() - start:.1f} s")
        sparse_clf = new().fit(X_sparse, y) if cascade else None
        embedded = Counter()

        def probabilities(name):
            """The combined model's; with a cascade, the sparse model's where it is sure."""
            probs = clf.predict_proba(Xt[name])
            if sparse_clf is None:
                return probs
            sparse_probs = sparse_clf.predict_proba(Xt_sparse[name])
            unsure = sparse_probs.max(axis=1) < cascade
            embedded[name] = float(unsure.mean())
            return np.where(unsure[:, None], probs, sparse_probs)

        def predict(name):
            msgs = tests[name][0]
            out = []
            for message, row in zip(msgs, probabilities(name), strict=True):
                label, _, order = decide(clf.classes_, row)
                text = message.get("text")
                spans = [(s_, e_) for s_, e_, _ in find_contacts(text) + find_order_numbers(text)]
                if only_identifiers(text, spans):
                    out.append("inform")
                elif row[order[0]] < threshold or (label == clf.classes_[order[0]]
                                                   and row[order[0]] - row[order[1]] < 0.05):
                    out.append("nlu_fallback")
                else:
                    out.append(label)
            return out

        print("heldout " + " ".join(
            f"{l_} {np.mean([p == eval_nlu.base(g) for p, g in zip(predict(l_), tests[l_][1], strict=True)]):.3f}"
            for l_ in LANGS))
        for l_ in LANGS:
            pred = predict(f"massive_{l_}")
            leaks = Counter(p for p in pred if p not in REJECTED)
            print(f"MASSIVE {l_} {np.mean([p in REJECTED for p in pred]):.3f} accepted as "
                  + ", ".join(f"{p} x{c}" for p, c in leaks.most_common(6)))
        for l_ in LANGS:
            kinds, confusions, ok = defaultdict(lambda: [0, 0]), Counter(), 0
            for p, row in zip(predict(f"blind_{l_}"), blind[l_], strict=True):
                hit = any(p == eval_nlu.base(g) for g in row["gold"])
                ok += hit
                kinds[row["kind"]][0] += hit
                kinds[row["kind"]][1] += 1
                if not hit:
                    confusions[(row["kind"][:4], eval_nlu.base(row["gold"][0]), p)] += 1
            print(f"blind {l_} {ok / len(blind[l_]):.3f} "
                  + " ".join(f"{k}:{v[0]}/{v[1]}" for k, v in sorted(kinds.items()))
                  + " | " + "; ".join(f"{k}:{g}->{p} x{c}" for (k, g, p), c in confusions.most_common(30)))
        errors = Counter()
        pred = predict("bitext")
        for p, row in zip(pred, bitext_rows, strict=True):
            if p not in {eval_nlu.base(g) for g in eval_nlu.BITEXT_MAP[row["intent"]]}:
                errors[(row["intent"], p)] += 1
        print(f"Bitext {1 - sum(errors.values()) / len(pred):.3f} | "
              + "; ".join(f"{g}->{p} x{c}" for (g, p), c in errors.most_common(12)))
        if embedded:
            print("embedded share " + " ".join(f"{k} {v:.2f}" for k, v in embedded.items()))
        X, Xt = X_sparse, Xt_sparse  # noqa: N806

    # SWEEP_GRID="SWEEP_FAQ_MARGIN=0.1;SWEEP_FAQ_WEIGHT=0.7,SWEEP_C=2": several settings, one featurization
    grid = [dict(kv.split("=", 1) for kv in part.split(",") if kv)
            for part in os.environ.get("SWEEP_GRID", "").split(";") if part] or [dict(os.environ)]
    for cfg in grid:
        if len(grid) > 1:
            print("==", cfg, flush=True)
        run(cfg)


def main():
    from sklearn.linear_model import LogisticRegression

    if "--quick" in sys.argv[1:]:
        quick()
        return
    if "--cv" in sys.argv[1:]:
        cross_validate(prepare(with_tests=False)[0])
        return
    td, tests = prepare()
    y = labels(td)
    blocks = {
        "regex": features(td, tests, "re", RegexFeaturizer),
        "word12": features(td, tests, "w12", CountVectorsFeaturizer, min_ngram=1, max_ngram=2,
                           max_features=12000),
        "char25": features(td, tests, "c25", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=2,
                           max_ngram=5, min_df=2, max_features=8000),
        "char36": features(td, tests, "c36", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=3,
                           max_ngram=6, min_df=2),
        "char26": features(td, tests, "c26", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=2,
                           max_ngram=6, min_df=2),
        "char37": features(td, tests, "c37", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=3,
                           max_ngram=7, min_df=2),
        "char36k": features(td, tests, "c36k", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=3,
                            max_ngram=6, min_df=2, max_features=12000),
        "char46": features(td, tests, "c46", CountVectorsFeaturizer, analyzer="char_wb", min_ngram=4,
                           max_ngram=6, min_df=2),
    }
    combos = [("regex", "word12", c) for c in ("char25", "char36", "char26", "char37", "char36k", "char46")]
    solvers = [("liblinear", 100, 1.0)]
    for combo, (solver, iters, C) in itertools.product(combos, solvers):
        X = hstack([blocks[b][0] for b in combo]).tocsr()
        Xt = {name: hstack([blocks[b][1][name] for b in combo]).tocsr() for name in tests}
        clf = LogisticRegression(C=C, max_iter=iters, class_weight="balanced", solver=solver)
        for threshold, ambiguity in ((0.3, 0.05), (0.35, 0.05), (0.4, 0.05), (0.4, 0.1)):
            accs, fit = score(clf, X, y, Xt, tests, threshold, ambiguity)
            print(f"{'+'.join(combo):20s} {solver:9s} C={C:<4} fb={threshold}/{ambiguity:<4} "
                  + " ".join(f"{k.replace('massive_', 'M')} {v:.3f}" for k, v in accs.items())
                  + f"  fit {fit:.1f}s", flush=True)


if __name__ == "__main__":
    main()
