"""Fallback that asks more of a one-word message.

A single word ("commande", "order", "oda") names a topic, not a request: the classifier still
ranks the intent whose examples use the word most (cancelling, for "commande"), and starting that
skill would put a question the user never asked. Below ``single_word_threshold`` such a message
gets ``nlu_fallback``, whose clarification offers the likeliest skills as buttons; a one-word
request the data knows well ("annuler", "refund", "agent", "ndiyo") is far above it.

Two readings close together (top two within ``ambiguity_threshold``) are not asked about
(``bot/config.yml`` sets it to 0): on messages written by people who never read the data, the likelier
reading was the buyer's far more often than the other one, and the clarification made every one of them
pay a turn for it; a wrong skill still stops at its confirmation before anything is written
(docs/nlu.md, "Round 9").

A message that only names a topic with several skills ("my dispute", "mon litige": open one or
withdraw one?) gets ``nlu_fallback`` whatever the confidence (``actions/skills/catalogue.py``,
``TOPICS``); the clarification then offers that topic's skills.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import topic_of
from bot.components.text import words


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class ShortMessageFallbackClassifier(FallbackClassifier):
    """``FallbackClassifier`` with a higher threshold for messages of one word."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), "single_word_threshold": 0.5}

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
