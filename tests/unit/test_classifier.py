"""The intent classifier keeps the weight of the pooled ``faq`` intent and survives a model reload."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.components.classifier import LinearIntentClassifier

# Feature columns: 0-5 one FAQ topic each (0 "seller", 1 "fees", ...), 6 "close", 7 "dispute",
# 8 request wording ("i want to", "please").
TOPICS = 6
_texts = itertools.count()  # TrainingData drops examples with the same text


def message(columns: list[int], intent: str | None = None) -> Message:
    row = np.zeros((1, TOPICS + 3))
    row[0, columns] = 1
    msg = Message(data={TEXT: f"example {next(_texts)}", **({"intent": intent} if intent else {})})
    msg.add_features(Features(csr_matrix(row), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return msg


def training_data() -> TrainingData:
    # FAQ questions: 6 topics x 5 questions, three of them about the seller asking to close a
    # dispute; cancel_dispute: 8 requests to close one, half of them naming the seller ("the
    # seller sent a new one, please close my dispute").
    faq = [message([topic] + ([6, 7] if topic == 0 and i < 3 else []), "faq")
           for topic in range(TOPICS) for i in range(5)]
    requests = [message([6, 7, 8] + ([0] if i < 4 else []), "cancel_dispute") for i in range(8)]
    return TrainingData(faq + requests)


def classifier(tmp_path: Path, **config) -> LinearIntentClassifier:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    full = {**LinearIntentClassifier.get_default_config(), "solver": "liblinear", **config}
    return LinearIntentClassifier.create(full, storage, Resource("clf"), context)


def predict(clf: LinearIntentClassifier, columns: list[int]) -> str:
    [msg] = clf.process([message(columns)])
    return msg.get("intent")["name"]


def test_faq_question_about_closing_a_dispute_stays_faq(tmp_path):
    # "the seller wants me to close my dispute, should I?": topic 0 words + "close dispute".
    unweighted = classifier(tmp_path)
    unweighted.train(training_data())
    assert predict(unweighted, [0, 6, 7]) == "faq"
    assert predict(unweighted, [6, 7, 8]) == "cancel_dispute"  # a request still is one


def test_balanced_weights_would_shrink_the_faq_intent(tmp_path):
    # Rasa's own LogisticRegressionClassifier (always "balanced") gets the FAQ question wrong.
    balanced = classifier(tmp_path, class_weight="balanced")
    balanced.train(training_data())
    assert predict(balanced, [0, 6, 7]) == "cancel_dispute"
    assert predict(balanced, [6, 7, 8]) == "cancel_dispute"


def test_reload_keeps_the_trained_model(tmp_path):
    clf = classifier(tmp_path)
    clf.train(training_data())
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = LinearIntentClassifier.load(clf.config, clf._model_storage, clf._resource, context)
    for columns in ([0, 6, 7], [6, 7, 8], [3]):
        assert predict(loaded, columns) == predict(clf, columns)
    assert loaded.clf.class_weight is None


@pytest.mark.parametrize("config", [{"class_weight": "auto"}, {"C": 0}])
def test_rejects_bad_settings(tmp_path, config):
    with pytest.raises(ValueError):
        classifier(tmp_path, **config)


# Second stage: the n-grams know nothing of a message worded another way (here: no feature at all);
# the multilingual sentence embedding still places it next to the examples that mean the same.
CANCEL = ["please cancel my order", "i want to cancel the purchase", "cancel it, i changed my mind",
          "stop my order, i do not want it anymore"]
WEATHER = ["what is the weather today", "will it rain tomorrow", "how hot is it outside",
           "is it going to be sunny this weekend"]


def worded(text: str, intent: str | None = None, column: int | list[int] | None = None,
           width: int = 8) -> Message:
    row = np.zeros((1, width))
    if column is not None:
        row[0, column] = 1
    msg = Message(data={TEXT: text, **({"intent": intent} if intent else {})})
    msg.add_features(Features(csr_matrix(row), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return msg


def worded_training() -> TrainingData:
    return TrainingData([worded(t, "cancel_order", i) for i, t in enumerate(CANCEL)]
                        + [worded(t, "out_of_scope", 4 + i) for i, t in enumerate(WEATHER)])


@pytest.mark.parametrize("text, intent", [
    # one word of the training data each; the rest is another language
    ("annulez ma commande please", "cancel_order"),
    ("nataka kughairi oda yangu please", "cancel_order"),
    ("quel temps fera-t-il tomorrow", "out_of_scope"),
])
def test_second_stage_understands_unseen_wording(tmp_path, text, intent):
    clf = classifier(tmp_path, dense_weight=4, cascade=0.9, embedding_cache=str(tmp_path / "cache"))
    clf.train(worded_training())
    [msg] = clf.process([worded(text)])
    assert msg.get("intent")["name"] == intent
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = LinearIntentClassifier.load(clf.config, clf._model_storage, clf._resource, context)
    [again] = loaded.process([worded(text)])
    assert again.get("intent") == msg.get("intent")


def test_confident_messages_are_not_embedded(tmp_path, monkeypatch):
    clf = classifier(tmp_path, dense_weight=4, cascade=0.6, embedding_cache="")
    clf.train(worded_training())
    import bot.components.embeddings as embeddings

    calls = []
    monkeypatch.setattr(embeddings, "embed", lambda texts: calls.append(texts) or embeddings.np.zeros((len(texts), 384)))
    [sure] = clf.process([worded("cancel my order", column=[0, 1, 2, 3])])
    assert sure.get("intent")["name"] == "cancel_order" and sure.get("intent")["confidence"] >= 0.6
    assert calls == []
    clf.process([worded("i want something else entirely")])
    assert calls == [["i want something else entirely"]]
    clf.process([worded("qwzx vbnm plkj")])  # no word our data knows: nothing to embed
    clf.process([worded("")])
    assert calls == [["i want something else entirely"]]


def test_training_embeddings_are_cached_by_text(tmp_path):
    cache = tmp_path / "cache"
    classifier(tmp_path, dense_weight=4, embedding_cache=str(cache)).train(worded_training())
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 1
    classifier(tmp_path, dense_weight=4, embedding_cache=str(cache)).train(worded_training())
    assert sorted(cache.glob("*.npz")) == files  # nothing new to embed


def test_sentence_rows_equal_rasas_matrix():
    # bot/components/features.py builds the classifiers' rows without Rasa's combination of the
    # sequence features; the matrix must be the one Rasa's LogisticRegressionClassifier builds.
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import FEATURE_TYPE_SEQUENCE

    from bot.components.features import sentence_matrix

    rng = np.random.default_rng(0)
    messages = []
    for tokens in (1, 3, 7):
        msg = Message(data={TEXT: "x " * tokens})
        for origin, width in (("regex", 4), ("words", 9), ("chars", 13)):
            msg.add_features(Features(csr_matrix(rng.integers(0, 2, (tokens, width))), FEATURE_TYPE_SEQUENCE, TEXT, origin))
            msg.add_features(Features(csr_matrix(rng.integers(0, 3, (1, width))), FEATURE_TYPE_SENTENCE, TEXT, origin))
        msg.add_features(Features(rng.random((1, 5)), FEATURE_TYPE_SENTENCE, TEXT, "dense"))
        messages.append(msg)
    bare = Message(data={TEXT: "nothing"})  # a message without features has an empty row in both
    ours = sentence_matrix(messages)
    rasas = LogisticRegressionClassifier._create_X(None, messages)
    assert ours.shape == rasas.shape == (3, 4 + 9 + 13 + 5)
    assert np.array_equal(ours.toarray(), rasas.toarray())
    assert sentence_matrix([bare]).shape == LogisticRegressionClassifier._create_X(None, [bare]).shape
