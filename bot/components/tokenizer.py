"""Language-aware tokenisation with spaCy's rule-based tokenizers (no trained pipeline needed).

``spacy.blank("fr")`` knows French elision and exceptions ("l'ordre" -> "l'", "ordre",
"aujourd'hui" stays whole), ``spacy.blank("en")`` English contractions ("don't" -> "do", "n't");
Swahili has no spaCy language, so it uses the multi-language rules (``xx``), which still split
Sheng code-switching such as "ku-cancel" into "ku", "-", "cancel". The language comes from
``LanguageDetector``, which must run before this component. Token texts are case- and
accent-folded so "annulée" and "annulee" share features; offsets stay on the original text so
entities keep their spans.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.components.language import LANGUAGE
from bot.components.text import fold

SPACY_LANGUAGE = {"en": "en", "fr": "fr", "sw": "xx"}


@cache
def spacy_tokenizer(lang: str) -> Any:
    return spacy.blank(SPACY_LANGUAGE.get(lang, "xx")).tokenizer


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class LanguageAwareTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageAwareTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        doc = spacy_tokenizer(message.get(LANGUAGE) or "xx")(text)
        tokens = [
            Token(fold(t.text), t.idx, t.idx + len(t.text))
            for t in doc
            if any(ch.isalnum() for ch in t.text)
        ]
        if not tokens:
            # Rasa needs at least one token per message (e.g. "???" or an emoji alone).
            tokens = [Token(fold(text.strip()) or "_", 0, max(len(text), 1))]
        return self._apply_token_pattern(tokens)
