"""Asking to open a dispute again is never a withdrawal, even when it names the withdrawal.

"Can I reopen the dispute I withdrew?", "naweza kufungua tena mgogoro niliouondoa?", "I closed my
dispute by mistake, please reopen it": the words of the withdrawal ("withdrew", "niliouondoa",
"closed my dispute") are the n-grams of ``cancel_dispute``, and the one word that matters, "again"
("tena", "upya", "rouvrir"), is in both intents' data. Read as ``cancel_dispute``, the bot starts
withdrawing a dispute that is already withdrawn. A message read as ``cancel_dispute`` that asks to
open it again gets, with the confidence the withdrawal had (``ranking.promote``):

- asked as a question, the classifier's next reading among the policy answer (``faq``, when the
  FAQ selector's topic is reopen_dispute) and the dispute skill;
- asked as a request, the dispute skill (``open_dispute``, which reopens or refuses by the
  platform's rules).

A reopening mentioned for later or on a condition ("withdraw my dispute, I can reopen it later",
"je le rouvrirai si besoin", "nitaufungua tena kama kuna shida") leaves the withdrawal alone.

Why a rule and not data: the Swahili round-10 data (help-desk frames around "kuondoa mgogoro")
moved one such question across a 0.57 / 0.42 split, and requests to reopen were read as the
withdrawal at 0.79-0.94 in the three languages; more reopen examples would move the next one back,
while the meaning does not depend on the split.
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
# The readings a question about reopening can have, in the classifier's order.
INSTEAD = (FAQ_INTENT, DISPUTE_SKILL)
# "Open again", matched on the folded words joined by spaces (catalogue ``tokens``): "reopen",
# "re-open", "open it again"; "rouvrir", "rouvert", "réouverture", "ouvrir à nouveau / de
# nouveau"; "kufungua tena / upya", "kuufungua upya", "kufunguliwa upya", "kureopen", "ku-open
# tena". Up to three words between the verb and "again" ("open the dispute again"). "Close again"
# ("funga tena") is not it.
REOPEN = re.compile(
    r"\b(?:\w*reopen\w*|re open\w*|re?ouv(?:r|ert)\w*"
    r"|(?:\w*open\w*|ouv(?:r|ert)\w*|\w*fungu\w*)(?: \w+){0,3} (?:again|nouveau|tena|upya))\b")
# A reopening put off or on a condition (folded words): "later", "if", "in case", "I'll", "can always";
# "plus tard", "si", "au cas", the future "rouvrirai"; "baadaye", "kama", "ikibidi", the future "nita-".
LATER = re.compile(r"\b(?:later|if|in case|always|ll|plus tard|si|au cas|\w*ouvrir(?:ai|a|ons|ez)"
                   r"|baadaye|kama|ikibidi|nikihitaji|nita\w*)\b")
# The FAQ topic that answers it; another topic (the withdrawal's how-to) would answer the wrong question.
REOPEN_TOPIC = "reopen_dispute"


def says_reopen(text: str) -> bool:
    return bool(REOPEN.search(" ".join(tokens(text))))


def asks_to_reopen(text: str) -> bool:
    """Reopening is what the message asks: a question about it, or a request that does not put it
    off ("withdraw my dispute, I'll reopen it if need be" asks for the withdrawal)."""
    return says_reopen(text) and (is_question(text) or not LATER.search(" ".join(tokens(text))))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ReopenIsNotWithdrawal(StatelessComponent):
    """Moves an "open it again" read as a withdrawal to the next reading that can answer it."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != WITHDRAW_INTENT:
                continue
            text = message.get(TEXT) or ""
            if asks_to_reopen(text):
                promote(message, likelier_answer(message) if is_question(text) else DISPUTE_SKILL)
        return messages


def likelier_answer(message: Message) -> str:
    """For a question: the first of the reopening answer and the dispute skill in the ranking (the
    answer only when the FAQ selector chose its topic), else the skill."""
    for reading in message.get(INTENT_RANKING_KEY) or []:
        name = reading.get(INTENT_NAME_KEY)
        if name in INSTEAD and (name != FAQ_INTENT or topic(message) == REOPEN_TOPIC):
            return name
    return DISPUTE_SKILL
