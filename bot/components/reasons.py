"""Reason codes for the reasons buyers give in their own words.

The dispute and cancellation forms need a reason *code* (``actions/orders/enums.py``). The entity
extractor finds the words that state a reason ("the screen came cracked", "nimepata bei nafuu
kwingine"), but Rasa's synonym mapper only turns the exact wordings of the training data into a
code; any new wording reached the form as raw text, the form's keyword list rarely knew it, and a
buyer who had just said what was wrong was asked again ("What is the problem with the order?").

This component learns the code from the same annotations: every ``dispute_reason`` and
``cancel_reason`` span of the training data that carries a code, and the whole example it sits in.
At inference it

* gives an extracted reason entity whose value is not a code the likeliest code (when the model
  is confident enough), so the slot mapping fills the slot with a code, and keeps one reason
  entity of each kind (the slot mapping would take the last one, whatever it says);
* adds ``reason_guess`` to the parse result: the code for the whole message, for messages whose
  intent can carry that reason. The form reads it when the buyer answered the reason question in
  words the entity extractor did not mark.

Character and word n-grams of the accent-folded text, one logistic regression per entity: the
spans are short and the vocabulary is the one the intent data already teaches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from actions.orders.enums import CancellationReason, DisputeReason, values
from actions.skills.catalogue import REASON_GUESS
from bot.components.text import fold, words

logger = logging.getLogger(__name__)

# entity -> its codes (one home: the order service's enums)
CODES = {"dispute_reason": tuple(values(DisputeReason)), "cancel_reason": tuple(values(CancellationReason))}
# Intents whose message may state that reason as a whole ("it came broken" is open_dispute, and an
# answer to the form's question is usually inform).
GUESS_INTENTS = {
    "dispute_reason": frozenset({"open_dispute", "order_not_received", "inform"}),
    "cancel_reason": frozenset({"cancel_order", "inform"}),
}
DIGITS_RE = re.compile(r"\d+")
# Where a message's clauses part: punctuation, and "but" in the three languages. "How do I get my
# money back, the order came broken": the request's words outweigh the problem's when the message
# is read whole, and the buyer would be asked again what was wrong.
CLAUSE_RE = re.compile(r"[,;.!?:\n]+|\s(?:but|mais|lakini|ila)\s", re.IGNORECASE)


def normalise(text: str) -> str:
    """Folded text with numbers collapsed (an order number says nothing about the reason)."""
    return DIGITS_RE.sub("0", fold(text))


NONE = "none"  # the class of messages that state no reason of that kind


def training_rows(training_data: TrainingData, entity: str) -> tuple[list[str], list[str]]:
    """(texts, labels): each annotated span with its code, each example with one code, and
    ``none`` for each example of an intent the guess is made for that states no such reason ("I
    want to cancel my order"): the guess tells requests with a reason from requests without."""
    texts, labels = [], []
    for example in training_data.training_examples:
        text = example.get(TEXT) or ""
        if not text:
            continue
        found_here = [e for e in example.get(ENTITIES) or [] if e.get("entity") == entity]
        codes = set()
        for found in found_here:
            if found.get("value") not in CODES[entity]:
                continue
            span = text[found.get("start", 0):found.get("end", 0)] or str(found.get("value"))
            texts.append(normalise(span))
            labels.append(found["value"])
            codes.add(found["value"])
        if len(codes) == 1:
            texts.append(normalise(text))
            labels.append(codes.pop())
        elif not found_here and example.get(INTENT) in GUESS_INTENTS[entity]:
            texts.append(normalise(text))
            labels.append(NONE)
    return texts, labels


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True
)
class ReasonClassifier(GraphComponent):
    """Maps reason entities and reason-bearing messages to the order service's reason codes."""

    MODEL_FILE = "reasons.skops"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # A span the extractor marked is a reason: a plurality is enough. A whole message is only
        # read as a reason when the model is sure.
        return {"span_min_confidence": 0.4, "message_min_confidence": 0.6, "C": 5.0}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 models: dict[str, Any] | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.models = models or {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ReasonClassifier:
        return cls(config, model_storage, resource)

    def _pipeline(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        return Pipeline([
            ("features", FeatureUnion([
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)),
                ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ])),
            ("classifier", LogisticRegression(C=float(self.config["C"]), max_iter=1000, random_state=42)),
        ])

    def train(self, training_data: TrainingData) -> Resource:
        import skops.io as sio

        self.models = {}
        for entity in CODES:
            texts, labels = training_rows(training_data, entity)
            if len(set(labels)) < 2:
                logger.warning("%s: fewer than two %s codes annotated; not trained", type(self).__name__, entity)
                continue
            self.models[entity] = self._pipeline().fit(texts, labels)
            logger.info("%s: %s learnt from %d rows", type(self).__name__, entity, len(texts))
        with self._storage.write_to(self._resource) as directory:
            sio.dump(self.models, directory / self.MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ReasonClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / cls.MODEL_FILE
                # Only sklearn's own types and numpy arrays are in the file (skops refuses others).
                models = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        except (ValueError, FileNotFoundError):
            models = {}
        return cls(config, model_storage, resource, models)

    def predict(self, entity: str, text: str, span: bool = False) -> tuple[str | None, float]:
        """The likeliest code for ``text`` and its probability; None when the text states no
        reason (for a whole message) or without a model. A ``span`` the extractor marked is a
        reason: its code is the likeliest one, with the probability shared among the codes."""
        model = self.models.get(entity)
        if model is None or not text.strip():
            return None, 0.0
        probabilities = dict(zip(model.classes_, model.predict_proba([normalise(text)])[0], strict=True))
        if span:
            rest = 1.0 - probabilities.pop(NONE, 0.0)
            probabilities = {code: p / rest for code, p in probabilities.items()} if rest > 0 else {}
        best = max(probabilities, key=probabilities.get, default=NONE)
        return (None, 0.0) if best == NONE else (str(best), float(probabilities[best]))

    def read(self, entity: str, text: str) -> tuple[str | None, float]:
        """The message's reason: its reading as a whole when that is sure enough, else the surest
        of its clauses' readings (a problem said in one clause of a request in several)."""
        code, confidence = self.predict(entity, text)
        if code and confidence >= self.config["message_min_confidence"]:
            return code, confidence
        clauses = [part for part in CLAUSE_RE.split(text) if words(part)]
        if len(clauses) < 2:
            return code, confidence
        return max([(code, confidence)] + [self.predict(entity, clause) for clause in clauses],
                   key=lambda read: read[1])

    def process(self, messages: list[Message]) -> list[Message]:
        if not self.models:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            # The whole message's code per kind, read at most once: both the choice among several
            # spans and the guess may need it.
            whole = cache(lambda entity, text=text: self.read(entity, text))
            entities = message.get(ENTITIES) or []
            for found in entities:
                entity = found.get("entity")
                if entity not in self.models or found.get("value") in CODES[entity]:
                    continue
                span = text[found.get("start", 0):found.get("end", 0)] or str(found.get("value") or "")
                code, confidence = self.predict(entity, span, span=True)
                if code and confidence >= self.config["span_min_confidence"]:
                    found["value"] = code
                    found.setdefault("processors", []).append(type(self).__name__)
            if entities:
                entities = self._one_reason_per_kind(entities, whole)
                message.set(ENTITIES, entities, add_to_output=True)
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            guesses = {}
            mapped = {found.get("entity") for found in entities if found.get("value") in CODES.get(found.get("entity"), ())}
            for entity, intents in GUESS_INTENTS.items():
                # Not needed when a reason entity already has a code, nor possible without words
                # (an order number, an e-mail address).
                if intent in intents and entity not in mapped and words(text):
                    code, confidence = whole(entity)
                    if code and confidence >= self.config["message_min_confidence"]:
                        guesses[entity] = code
            if guesses:
                message.set(REASON_GUESS, guesses, add_to_output=True)
        return messages

    def _one_reason_per_kind(
        self, entities: list[dict[str, Any]], whole: Callable[[str], tuple[str | None, float]],
    ) -> list[dict[str, Any]]:
        """Several spans of one reason kind ("tracking says delivered but I have nothing, already
        asked the neighbours"): Rasa's slot mapping would take the last, whatever it says. Keep the
        one whose code agrees with the reading of the whole message, else the first with a code."""
        dropped: list[int] = []
        for entity in self.models:
            spans = [found for found in entities if found.get("entity") == entity]
            if len(spans) < 2:
                continue
            coded = [found for found in spans if found.get("value") in CODES[entity]]
            agreed, _ = whole(entity)
            chosen = next((found for found in coded if found["value"] == agreed), (coded or spans)[0])
            dropped += [id(found) for found in spans if found is not chosen]
        return [found for found in entities if id(found) not in dropped]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


__all__ = ["CODES", "REASON_GUESS", "ReasonClassifier", "normalise"]
