"""A question that asks *when* is about the order, not a "why?" or "what now?" about the bot's words.

The ``explain`` intent's examples have no words of their own ("then what?", "and now?", "so what do
I do now?"), and short follow-ups about the order just answered share their shape ("so when will it
get here?"). A message read as ``explain`` that asks when gets the classifier's next reading
instead, with the confidence ``explain`` had (``ranking.promote``): the status question stays on
the order (``actions/skills/followups.py``).

The same holds for the courtesies a follow-up starts with: "ok merci, et elle arrive quand ?",
"ok cool et c pour quand", "asante, itafika lini?" read as thanks or a yes ask when all the same.
For those the message must really ask: a "when" word ("when", "quand", "lini"), or a question
(``is_question``) for the looser ones ("how long", "temps", "muda"): "thanks, it took so long" is
a thank-you. A yes that asks when is not a yes to go on with: at a confirmation nothing is written
on it, the question about the order is answered instead.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import asks_when, is_question, tokens
from bot.components.ranking import promote
from bot.components.stateless import StatelessComponent

EXPLAIN_INTENT = "explain"
# Intents that say nothing about an order: a when-question read as one of them is about the order.
COURTESIES = frozenset({"thank", "goodbye", "affirm"})
# Words that ask when by themselves (folded), unlike "long" or "temps", which a remark can use too.
WHEN = frozenset({"when", "quand", "lini"})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class WhenIsNotWhy(StatelessComponent):
    """Moves a "when ...?" read as ``explain`` or a courtesy to the classifier's next intent."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            text = message.get(TEXT)
            if name == EXPLAIN_INTENT:
                if not asks_when(text):
                    continue
            elif name not in COURTESIES or not (set(tokens(text)) & WHEN or (asks_when(text) and is_question(text))):
                continue
            skip = COURTESIES | {EXPLAIN_INTENT}
            others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) not in skip]
            if others:
                promote(message, others[0][INTENT_NAME_KEY])
        return messages
