"""A question that asks *when* is about the order, not a "why?" or "what now?" about the bot's words.

The ``explain`` intent's examples have no words of their own ("then what?", "and now?", "so what do
I do now?"), and short follow-ups about the order just answered share their shape ("so when will it
get here?"). A message read as ``explain`` that asks when gets the classifier's next reading
instead, with the confidence ``explain`` had (``ranking.promote``): the status question stays on
the order (``actions/skills/followups.py``).

The same holds for the courtesies a follow-up starts with: "ok merci, et elle arrive quand ?",
"ok cool et c pour quand", "asante, itafika lini?" read as thanks or a yes ask when all the same.
For those the message must really ask (``asks_when(..., strictly=True)``): "thanks, it took so
long" is a thank-you. A yes that asks when is not a yes to go on with: at a confirmation nothing is written
on it, the question about the order is answered instead.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import asks_when
from bot.components.ranking import promote
from bot.components.stateless import StatelessComponent

EXPLAIN_INTENT = "explain"
# Intents that say nothing about an order: a when-question read as one of them is about the order.
COURTESIES = frozenset({"thank", "goodbye", "affirm"})
SAYS_NOTHING = COURTESIES | {EXPLAIN_INTENT}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class WhenIsNotWhy(StatelessComponent):
    """Moves a "when ...?" read as ``explain`` or a courtesy to the classifier's next intent."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if name not in SAYS_NOTHING or not asks_when(message.get(TEXT), strictly=name in COURTESIES):
                continue
            others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) not in SAYS_NOTHING]
            if others:
                promote(message, others[0][INTENT_NAME_KEY])
        return messages
