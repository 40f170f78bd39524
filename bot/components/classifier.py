"""Intent classifier: Rasa's logistic regression with the class weighting chosen by measurement.

Rasa's ``LogisticRegressionClassifier`` always weights classes as "balanced" (each intent's
examples count in inverse proportion to their number). That is wrong for a retrieval intent:
``faq`` pools some thirty topics, so it has many examples because it *is* many questions, and
balancing shrinks every FAQ question to a thirtieth of an ordinary example. The classifier then
takes "the seller wants me to close my dispute" (an FAQ question) for ``cancel_dispute`` and
"mbona system imecancel oda yangu?" for ``cancel_order``.

``class_weight`` (``null`` by default, or ``balanced``) and ``C`` are configurable here. Chosen by
cross-validation on the training data alone, never on the held-out splits
(``tests/benchmarks/sweep_intents.py --cv``): balancing costs accuracy in every language.

Second stage (``dense_weight`` > 0): sparse n-grams only know the words of our training data, so
messages worded differently get a flat, unsure distribution. For those (top probability below
``cascade``) the message is embedded with a pretrained multilingual encoder
(``bot/components/embeddings.py``) and classified by a second logistic regression over the sparse
features plus the embedding scaled by ``dense_weight``. Confident messages, most of them, never pay
for the embedding; that keeps the parse within its latency budget.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

from bot.components.features import sentence_matrix
from bot.components.text import words

CLASS_WEIGHTS = (None, "balanced")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentClassifier(LogisticRegressionClassifier):
    """Logistic regression over the sparse features, with configurable class weights and C."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "class_weight": None,
            "C": 1.0,
            # second stage: 0 = off; else the weight of the sentence embedding next to the n-grams
            "dense_weight": 0.0,
            # messages whose top sparse probability is below this go to the second stage
            "cascade": 0.6,
            # where training embeddings are cached by text ("" = no cache)
            "embedding_cache": ".rasa/embeddings",
        }

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = LogisticRegression(
            C=float(self.config["C"]),
            class_weight=self.config["class_weight"],
            solver=self.config["solver"],
            max_iter=self.config["max_iter"],
            tol=self.config["tol"],
            random_state=self.config["random_state"],
        )
        self.dense_clf: LogisticRegression | None = None
        self.vocabulary: set[str] = set()  # words of the training examples (second stage only)
        self.validate_config(self.config)

    def _new_model(self) -> LogisticRegression:
        return LogisticRegression(**self.clf.get_params())

    def _dense_block(self, vectors: Any) -> csr_matrix:
        return csr_matrix(float(self.config["dense_weight"]) * vectors)

    def train(self, training_data: TrainingData) -> Resource:
        X, y = self._create_training_matrix(training_data)  # noqa: N806
        if X.shape[0] == 0:
            return self._resource
        self.clf.fit(X, y)
        if self.config["dense_weight"]:
            from bot.components.embeddings import DiskCache

            examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
            vectors = DiskCache(self.config["embedding_cache"]).embed([e.get(TEXT) for e in examples])
            self.dense_clf = self._new_model().fit(hstack([X, self._dense_block(vectors)]).tocsr(), y)
            self.vocabulary = {word for e in examples for word in words(e.get(TEXT))}
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        return self._classify(messages, second_stage=True)

    def _create_X(self, messages: list[Message]) -> csr_matrix:  # noqa: N802
        return sentence_matrix(messages)

    def _classify(self, messages: list[Message], second_stage: bool) -> list[Message]:
        if not messages:
            return messages
        X = self._create_X(messages)  # noqa: N806
        probabilities = self.clf.predict_proba(X)
        if self.dense_clf is not None and second_stage:
            # A message none of whose words our data knows (empty, digits, "qwzx vbnm") is noise to
            # the encoder too, and a single word ("commande", "oda") names a topic, not a request:
            # the encoder would place it next to the likeliest request about that topic. Both stay
            # with the first stage and its fallback, which asks what the user wants.
            unsure = [i for i, row in enumerate(probabilities)
                      if row.max() < self.config["cascade"] and self._worth_embedding(messages[i])]
            if unsure:
                from bot.components.embeddings import embed

                vectors = embed([messages[i].get(TEXT) or "" for i in unsure])
                dense_X = hstack([X[unsure], self._dense_block(vectors)]).tocsr()  # noqa: N806
                probabilities[unsure] = self.dense_clf.predict_proba(dense_X)
        for message, row in zip(messages, probabilities, strict=True):
            ranking = sorted(({"name": name, "confidence": float(p)}
                              for name, p in zip(self.clf.classes_, row, strict=True)),
                             key=lambda entry: -entry["confidence"])
            message.set("intent", ranking[0], add_to_output=True)
            if self.config["ranking_length"] > 0:
                ranking = ranking[: self.config["ranking_length"]]
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def _worth_embedding(self, message: Message) -> bool:
        tokens = words(message.get(TEXT) or "")
        return len(tokens) > 1 and not self.vocabulary.isdisjoint(tokens)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # as Rasa's classifier does, without embedding the training examples a second time
        self._classify(training_data.training_examples, second_stage=False)
        return training_data

    def persist(self) -> None:
        super().persist()
        if self.dense_clf is not None:
            import skops.io as sio

            with self._model_storage.write_to(self._resource) as model_dir:
                sio.dump(self.dense_clf, model_dir / f"{self._resource.name}.dense.skops")
                (model_dir / f"{self._resource.name}.vocabulary.json").write_text(
                    json.dumps(sorted(self.vocabulary)), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        if config.get("dense_weight"):
            import skops.io as sio

            try:
                with model_storage.read_from(resource) as model_dir:
                    path = model_dir / f"{resource.name}.dense.skops"
                    if path.exists():
                        component.dense_clf = sio.load(path, trusted=sio.get_untrusted_types(file=path))
                        component.vocabulary = set(json.loads(
                            (model_dir / f"{resource.name}.vocabulary.json").read_text(encoding="utf-8")))
            except ValueError:
                pass
        return component

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("class_weight") not in CLASS_WEIGHTS:
            raise ValueError(
                f"{cls.__name__}: class_weight must be one of {CLASS_WEIGHTS}, "
                f"not {config.get('class_weight')!r}")
        if float(config.get("C", 1.0)) <= 0:
            raise ValueError(f"{cls.__name__}: C must be positive")
        if float(config.get("dense_weight", 0.0)) < 0 or not 0 <= float(config.get("cascade", 0.6)) <= 1:
            raise ValueError(f"{cls.__name__}: dense_weight must be >= 0 and cascade in [0, 1]")
