"""Fallback that asks more of a one-word message.

A single word ("commande", "order", "oda") names a topic, not a request: the classifier still
ranks the intent whose examples use the word most (cancelling, for "commande"), and starting that
skill would put a question the user never asked. Below ``single_word_threshold`` such a message
gets ``nlu_fallback``, whose clarification offers the likeliest skills as buttons; a one-word
request the data knows well ("annuler", "refund", "agent", "ndiyo") is far above it.

A message that says two things meaning the same move ("ok thanks bye": thank and goodbye, close
together) is not ambiguous: the likelier one answers, instead of "Sorry, I didn't understand" at the
end of a conversation that went well.

A message read as giving an identifier (``inform`` with an order number or a contact, which
``IdentifierExtractor`` decided from the identifier itself) is not ambiguous either.

A message that only names a topic with several skills ("my dispute", "mon litige": open one or
withdraw one?) gets ``nlu_fallback`` whatever the confidence (``actions/skills/catalogue.py``,
``TOPICS``); the clarification then offers that topic's skills.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import topic_of
from bot.components.identifiers import CONTACT, INFORM
from bot.components.order_id import ENTITY as ORDER_ID
from bot.components.text import words

# What IdentifierExtractor reads an identifier-giving message as, and the entities it decides on.
IDENTIFIERS = frozenset({ORDER_ID, CONTACT})
# Intents whose answers both fit a message that says both.
INTERCHANGEABLE = (frozenset({"thank", "goodbye"}),)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class ShortMessageFallbackClassifier(FallbackClassifier):
    """``FallbackClassifier`` with a higher threshold for messages of one word."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), "single_word_threshold": 0.5}

    def _nlu_prediction_ambiguous(self, message: Message) -> tuple[bool, float | None]:
        ambiguous, difference = super()._nlu_prediction_ambiguous(message)
        if ambiguous:
            top_two = {entry.get("name") for entry in (message.get(INTENT_RANKING_KEY) or [])[:2]}
            if any(top_two <= group for group in INTERCHANGEABLE):
                return False, difference
            if (message.get(INTENT) or {}).get("name") == INFORM and any(
                    entity.get("entity") in IDENTIFIERS for entity in message.get("entities") or []):
                return False, difference
        return ambiguous, difference

    def _should_fallback(self, message: Message) -> bool:
        if super()._should_fallback(message):
            return True
        text = message.get(TEXT) or ""
        if message.get("entities"):
            return False
        if topic_of(text):
            return True
        if len(words(text)) != 1:
            return False
        confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0
        return confidence < float(self.component_config["single_word_threshold"])
