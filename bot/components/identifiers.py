"""Messages that are only identifiers: an order number, an e-mail address, a phone number.

Answers to "which order?" or "what is your account e-mail?" are often nothing else, and a
statistical classifier has no words to go on. This component runs after the classifiers:

* it tags e-mail addresses and phone numbers as the ``contact`` entity;
* when the message holds nothing but identifiers (and filler punctuation), it sets the intent to
  ``inform`` with full confidence, since that is what such a message is by definition;
* a message with an identifier is never ``out_of_scope``, nor left to the fallback: read as
  out of scope, or with no intent the model is sure of, it becomes ``inform``;
* an e-mail or phone given "to reach me" ("u can find me with ...", "appelez-moi au ...") is the
  buyer's contact, not a request for a person, unless it names one (an agent, "mtu", "un
  conseiller"): read as ``request_human`` without such a word, it becomes ``inform``. The bot
  calls nobody back; the contact is what it asks for to check an order.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.order_id import PHONE_PATTERNS, find_order_numbers
from bot.components.ranking import promote
from bot.components.stateless import StatelessComponent
from bot.components.text import words

EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Words that only introduce an identifier ("my email is ...", "voici mon numéro ...", "simu yangu
# ni ..."): a message of these and identifiers is still nothing but an answer. Without them, "my
# email is oliver@..." was left to the classifier, which read the address as out of scope.
INTRODUCING = ("no|n°|nr|num|number|numero|numéro|namba|email|e-mail|mail|tel|phone|simu|mobile|"
               "my|is|it|it's|its|here|here's|address|account|the|"
               "mon|ma|c'est|cest|voici|est|adresse|compte|le|la|de|du|"
               "yangu|ni|hii|hapa|barua|pepe|ya|anwani|akaunti|nambari")
_LONGEST_FIRST = "|".join(sorted((re.escape(w) for w in INTRODUCING.split("|")), key=len, reverse=True))
FILLER_RE = re.compile(rf"[\s,;:.!?#()\-]+|(?<!\w)(?:{_LONGEST_FIRST})(?!\w)", re.IGNORECASE)
CONTACT = "contact"
INFORM = "inform"
OUT_OF_SCOPE = "out_of_scope"
# Below this the fallback would answer "didn't understand" (bot/config.yml, the fallback's threshold
# is 0.35); a message with an identifier is then read as giving it, at that confidence.
UNSURE_BELOW = 0.4
REQUEST_HUMAN = "request_human"
# Words (folded) that ask for a person, in the three languages: with one of them a message that
# gives a contact still asks for a human ("get an agent to call me on 0712...").
PERSON_WORDS = frozenset({
    "agent", "agents", "human", "humans", "person", "someone", "somebody", "staff", "representative",
    "rep", "operator", "supervisor", "manager", "customer", "support", "team", "people",
    "conseiller", "conseillere", "humain", "personne", "quelqu", "responsable", "operateur", "service",
    "equipe", "mtu", "watu", "mhudumu", "wahudumu", "wakala", "binadamu", "msimamizi", "meneja", "huduma",
})


def find_contacts(text: str, orders: list[tuple[int, int, str]] | None = None) -> list[tuple[int, int, str]]:
    """E-mail addresses and phone numbers (never a part of an order number; ``orders``: the text's
    order numbers when the caller has already found them)."""
    orders = find_order_numbers(text) if orders is None else orders
    taken = [(s, e) for s, e, _ in orders]
    spans = [(m.start(), m.end(), m.group().lower()) for m in EMAIL_RE.finditer(text)]
    taken += [(s, e) for s, e, _ in spans]
    for pattern in PHONE_PATTERNS:
        for m in pattern.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                spans.append((m.start(), m.end(), m.group()))
                taken.append(m.span())
    return sorted(spans)


def only_identifiers(text: str, spans: list[tuple[int, int]]) -> bool:
    if not spans:
        return False
    rest = list(text)
    for start, end in spans:
        rest[start:end] = [" "] * (end - start)
    return not FILLER_RE.sub("", "".join(rest)).strip()


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class IdentifierExtractor(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            orders = find_order_numbers(text)
            contacts = find_contacts(text, orders)
            entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != CONTACT]
            entities += [
                {"entity": CONTACT, "start": s, "end": e, "value": value, "confidence_entity": 1.0,
                 "extractor": self.__class__.__name__}
                for s, e, value in contacts
            ]
            message.set(ENTITIES, sorted(entities, key=lambda x: x.get("start", 0)), add_to_output=True)
            spans = [(s, e) for s, e, _ in contacts + orders]
            if only_identifiers(text, spans):
                self._inform(message, 1.0)
            elif contacts and self._contact_not_person(message, text):
                self._inform(message, UNSURE_BELOW)
            elif spans and self._unsure_or_out_of_scope(message):
                # "u can reach me on 0712...", "la 8170... stp": a message that names an order or
                # an account is about the buyer's orders, whatever its other words; when the model
                # has no reading of them, it gives that identifier.
                confidence = (message.get(INTENT) or {}).get("confidence") or 0.0
                self._inform(message, max(confidence, UNSURE_BELOW))
        return messages

    @staticmethod
    def _contact_not_person(message: Message, text: str) -> bool:
        """Read as a request for a person, but naming none: a contact given to be reached."""
        return (message.get(INTENT) or {}).get("name") == REQUEST_HUMAN and not PERSON_WORDS.intersection(words(text))

    @staticmethod
    def _unsure_or_out_of_scope(message: Message) -> bool:
        intent = message.get(INTENT) or {}
        return intent.get("name") == OUT_OF_SCOPE or (intent.get("confidence") or 0.0) < UNSURE_BELOW

    @staticmethod
    def _inform(message: Message, confidence: float) -> None:
        """``inform`` first, at least at ``confidence``; the reading it replaces drops to inform's
        former place (``promote``), so the fallback does not see the two tied."""
        promote(message, INFORM)
        if confidence > ((message.get(INTENT) or {}).get("confidence") or 0.0):
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT, {"name": INFORM, "confidence": confidence}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{**ranking[0], "confidence": confidence}, *ranking[1:]],
                        add_to_output=True)
