"""FAQ topic selection by a linear model, without TensorFlow.

Rasa's ``ResponseSelector`` is a DIET network (TensorFlow): the server builds a Keras model at
start, keeps its runtime in memory and calls it for FAQ questions. This component picks the topic
of a retrieval intent (``faq/<topic>``) with a logistic regression over the sentence features the
pipeline's featurizers already computed (the same features the intent classifier uses), and sets
the same ``response_selector`` output as Rasa's selector, which the retrieval action (``utter_faq``)
and the fallback read: the response key, its responses, the confidence, the ranking.

It runs only when the retrieval intent is among the two likeliest intents (the "did you mean"
buttons offer the two likeliest): for "yes", an order number or an e-mail it would be work for
nothing, and other messages carry no ``response_selector`` entry, which nothing reads for them.
Its settings (``C``, ``class_weight``) were chosen by cross-validation on the training data only
(``tests/benchmarks/sweep_faq.py``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.nlu.training_data.util import intent_response_key_to_template_key
from sklearn.linear_model import LogisticRegression

from bot.components.features import sentence_matrix

logger = logging.getLogger(__name__)

CANDIDATES = 2  # the retrieval intent must be among this many likeliest intents
CLASS_WEIGHTS = (None, "balanced")


def may_be_retrieval(message: Message, retrieval_intent: str) -> bool:
    """True when ``retrieval_intent`` is the message's intent or among its likeliest ones."""
    ranking = message.get("intent_ranking") or []
    intent = (message.get(INTENT) or {}).get("name")
    if not ranking and not intent:
        return True  # no classifier ran before us
    return retrieval_intent == intent or retrieval_intent in [e.get("name") for e in ranking[:CANDIDATES]]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearResponseSelector(GraphComponent):
    """Logistic regression over the sentence features choosing ``<retrieval_intent>/<topic>``."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"retrieval_intent": None, "C": 1.0, "class_weight": None, "solver": "liblinear",
                "max_iter": 200, "ranking_length": 10, "random_state": 42}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 clf: LogisticRegression | None = None, responses: dict[str, list[dict[str, Any]]] | None = None,
                 retrieval_intents: list[str] | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self.clf = clf
        self.responses = responses or {}
        self.retrieval_intents = retrieval_intents or []
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not config.get("retrieval_intent"):
            raise ValueError(f"{cls.__name__}: set retrieval_intent (e.g. faq)")
        if config.get("class_weight") not in CLASS_WEIGHTS:
            raise ValueError(f"{cls.__name__}: class_weight must be one of {CLASS_WEIGHTS}")
        if float(config.get("C", 1.0)) <= 0:
            raise ValueError(f"{cls.__name__}: C must be positive")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LinearResponseSelector:
        return cls(config, model_storage, resource)

    @property
    def retrieval_intent(self) -> str:
        return str(self.config["retrieval_intent"])

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples
                    if e.get(INTENT) == self.retrieval_intent and e.get(INTENT_RESPONSE_KEY) and e.get(TEXT)]
        self.responses = training_data.responses
        self.retrieval_intents = list(training_data.retrieval_intents)
        if len({e.get(INTENT_RESPONSE_KEY) for e in examples}) < 2:
            logger.warning("%s: fewer than two %s topics in the training data; nothing trained",
                           type(self).__name__, self.retrieval_intent)
            self.clf = None
        else:
            self.clf = LogisticRegression(
                C=float(self.config["C"]), class_weight=self.config["class_weight"], solver=self.config["solver"],
                max_iter=int(self.config["max_iter"]), random_state=self.config["random_state"])
            self.clf.fit(sentence_matrix(examples), [e.get(INTENT_RESPONSE_KEY) for e in examples])
        self.persist()
        return self._resource

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            if self.clf is not None:
                sio.dump(self.clf, directory / "classifier.skops")
            (directory / "responses.json").write_text(json.dumps(
                {"responses": self.responses, "retrieval_intents": self.retrieval_intents}), encoding="utf-8")

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LinearResponseSelector:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                saved = json.loads((directory / "responses.json").read_text(encoding="utf-8"))
                path = directory / "classifier.skops"
                # Only numpy arrays and sklearn's own types may be loaded (skops refuses others).
                clf = sio.load(path, trusted=sio.get_untrusted_types(file=path)) if path.exists() else None
        except ValueError:  # nothing was trained (an NLU-less model)
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, clf, saved["responses"], saved["retrieval_intents"])

    def process(self, messages: list[Message]) -> list[Message]:
        if self.clf is None:
            return messages
        chosen = [m for m in messages if may_be_retrieval(m, self.retrieval_intent)]
        if not chosen:
            return messages
        for message, probabilities in zip(chosen, self.clf.predict_proba(sentence_matrix(chosen)), strict=True):
            self._set_prediction(message, probabilities)
        return messages

    def _set_prediction(self, message: Message, probabilities: np.ndarray) -> None:
        order = np.argsort(-probabilities)[: int(self.config["ranking_length"]) or None]
        ranking = [{"id": int(i), PREDICTED_CONFIDENCE_KEY: float(probabilities[i]),
                    INTENT_RESPONSE_KEY: str(self.clf.classes_[i])} for i in order]
        key = ranking[0][INTENT_RESPONSE_KEY]
        template = intent_response_key_to_template_key(key)
        responses = self.responses.get(template) or [{TEXT: key}]
        properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
        properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.retrieval_intents
        properties[self.retrieval_intent] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: responses,
                PREDICTED_CONFIDENCE_KEY: ranking[0][PREDICTED_CONFIDENCE_KEY],
                INTENT_RESPONSE_KEY: key,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: template,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
