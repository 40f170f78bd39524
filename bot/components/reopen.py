"""Asking to open a dispute again is never a withdrawal, even when it names the withdrawal.

"Can I reopen the dispute I withdrew?", "naweza kufungua tena mgogoro niliouondoa?", "mgogoro
niliofunga kimakosa unaweza kufunguliwa upya?": the words of the withdrawal ("withdrew",
"niliouondoa", "niliofunga") are the n-grams of ``cancel_dispute``, and the one word that matters,
"again" ("tena", "upya", "rouvrir"), is in both intents' data. Read as ``cancel_dispute``, the bot
starts withdrawing a dispute that is already withdrawn. A message that asks to open it again (a
question, or "reopen ..." first) and is read as ``cancel_dispute`` takes the classifier's next
reading among the policy answer (``faq``, when the FAQ selector's topic is reopen_dispute) and the
dispute skill (``open_dispute``, which reopens or refuses by the platform's rules), with the
confidence the withdrawal had (``ranking.promote``). "Withdraw my dispute, I can reopen it later"
asks for the withdrawal and keeps it.

Why a rule and not data: the Swahili round-10 data (help-desk frames around "kuondoa mgogoro")
moved one such question across a 0.57 / 0.42 split; more reopen examples would move the next one
back, while the meaning does not depend on the split.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import is_question, tokens
from bot.components.ranking import promote
from bot.components.requests import FAQ_INTENT, topic
from bot.components.stateless import StatelessComponent

WITHDRAW_INTENT = "cancel_dispute"
DISPUTE_SKILL = "open_dispute"
# The readings a reopen question can have, in the classifier's order.
INSTEAD = (FAQ_INTENT, DISPUTE_SKILL)
# "Open again", matched on the folded words joined by spaces (catalogue ``tokens``): "reopen",
# "re-open", "open it again"; "rouvrir", "rouvert", "réouverture", "ouvrir à nouveau / de
# nouveau"; "kufungua tena / upya", "kuufungua upya", "kufunguliwa upya", "kureopen", "ku-open
# tena". Up to three words between the verb and "again" ("open the dispute again"). "Close again"
# ("funga tena") is not it.
REOPEN = re.compile(
    r"\b(?:\w*reopen\w*|re open\w*|re?ouv(?:r|ert)\w*"
    r"|(?:\w*open\w*|ouv(?:r|ert)\w*|\w*fungu\w*)(?: \w+){0,3} (?:again|nouveau|tena|upya))\b")
# The FAQ topic that answers it; another topic (the withdrawal's how-to) would answer the wrong question.
REOPEN_TOPIC = "reopen_dispute"


def says_reopen(text: str) -> bool:
    return bool(REOPEN.search(" ".join(tokens(text))))


def asks_to_reopen(text: str) -> bool:
    """Reopening is what the message asks: a question about it, or a message that opens with it
    ("reopen my dispute"). "Withdraw my dispute, I'll reopen it if need be" asks for the withdrawal."""
    return says_reopen(text) and (is_question(text) or bool(REOPEN.match(" ".join(tokens(text)))))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ReopenIsNotWithdrawal(StatelessComponent):
    """Moves an "open it again" read as a withdrawal to the next reading that can answer it."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != WITHDRAW_INTENT:
                continue
            if not asks_to_reopen(message.get(TEXT) or ""):
                continue
            for reading in message.get(INTENT_RANKING_KEY) or []:
                name = reading.get(INTENT_NAME_KEY)
                if name in INSTEAD and (name != FAQ_INTENT or topic(message) == REOPEN_TOPIC):
                    promote(message, name)
                    break
            else:
                promote(message, DISPUTE_SKILL)
        return messages
