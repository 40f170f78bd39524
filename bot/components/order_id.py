"""Order numbers as users type them: "8170034500000003", "8170 0345 0000 0003", "#8170-0345...".

A regular expression is exact where a statistical extractor guesses: this component replaces any
``order_id`` that DIET predicted with the spans it finds, and normalises the value to digits.
Phone numbers (with a leading "+", or local with the trunk 0) are not order numbers.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.formats import order_number_pattern
from bot.components.stateless import StatelessComponent

ENTITY = "order_id"
# Someone typing an order number, right or wrong (actions/formats.py: one definition).
ORDER_RE = order_number_pattern()
# Phone numbers are never order numbers: international ("+254 712 345 678") and local, with the
# trunk 0 (Kenya "0712 345 678"; UK "07700 900123" and Nigeria "0803 123 4567" have 11 digits, as
# many as the shortest mistyped order number the bot answers "not an order number" to).
PHONE_PATTERNS = (
    re.compile(r"\+\s?\d(?:[ \-.]?\d){6,14}"),
    re.compile(r"(?<![\d+])0\d(?:[ \-.]?\d){7,12}(?!\d)"),
)


def find_order_numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) for every order-number-like span in ``text``."""
    phones = [m.span() for pattern in PHONE_PATTERNS for m in pattern.finditer(text)]
    return [
        (m.start(1), m.end(1), re.sub(r"\D", "", m.group(1)))
        for m in ORDER_RE.finditer(text)
        if not any(start <= m.start(1) < end for start, end in phones)
    ]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class OrderIdExtractor(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
            entities += [
                {
                    "entity": ENTITY,
                    "start": start,
                    "end": end,
                    "value": digits,
                    "confidence_entity": 1.0,
                    "extractor": self.__class__.__name__,
                }
                for start, end, digits in find_order_numbers(text)
            ]
            message.set(ENTITIES, sorted(entities, key=lambda e: e.get("start", 0)), add_to_output=True)
        return messages
