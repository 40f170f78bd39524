"""FAQ topic selection, run only for messages that may be FAQ questions.

Rasa's ``ResponseSelector`` runs its neural network on every message, although its answer is only
used when the intent is ``faq`` (the retrieval intent): for "yes", an order number or an e-mail it
is a tenth of the server's CPU per turn for nothing. This one runs it when the retrieval intent is
among the two likeliest intents (the fallback's "did you mean" buttons offer the two likeliest), and
leaves other messages without a ``response_selector`` entry, which nothing reads for them.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.training_data.message import Message

CANDIDATES = 2  # the retrieval intent must be among this many likeliest intents


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class FaqResponseSelector(ResponseSelector):
    """ResponseSelector that skips messages whose likeliest intents exclude the retrieval intent."""

    def may_be_retrieval(self, message: Message) -> bool:
        retrieval = self.component_config.get("retrieval_intent")
        if not retrieval:
            return True  # one selector for every retrieval intent: keep Rasa's behaviour
        ranking = message.get("intent_ranking") or []
        intent = (message.get("intent") or {}).get("name")
        if not ranking and not intent:
            return True  # no classifier ran before us
        names = [entry.get("name") for entry in ranking[:CANDIDATES]]
        return retrieval == intent or retrieval in names

    def process(self, messages: list[Message]) -> list[Message]:
        super().process([message for message in messages if self.may_be_retrieval(message)])
        return messages
