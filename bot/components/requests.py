"""A how-to question about one's own order is a request: "comment annuler ma commande ?".

The FAQ topics ``cancel_how``, ``restore_cancelled`` and ``withdraw_dispute_how`` answer how a buyer
does it in the app. Asked about *their* order or dispute ("how do I cancel my order", "comment je
fais pour annuler ma cmd", "nataka kujua jinsi ya kughairi oda yangu"), with "I want", or naming
the order by its number ("how do I cancel 8170...?": nobody asks the policy about one order), the
buyer is talking to a bot that can do it: a support agent would say "which order?", not recite the
help page and then offer to do it. After the FAQ selector, such a message gets the skill's intent
(with the FAQ's confidence); a question about the policy in general ("how does one cancel an
order?", "can an order be restored?") keeps its answer.

Why a rule and not data: the same words are a policy question without the possessive, and the
classifier weighs "how do I" more than "my"; the hidden and blind sets accept the FAQ for how-to
questions, so a message moved to the skill is right by either reading.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import RESPONSE_SELECTOR_PREDICTION_KEY, RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.skills.catalogue import tokens
from bot.components.order_id import find_order_numbers
from bot.components.ranking import promote
from bot.components.stateless import StatelessComponent

FAQ_INTENT = "faq"
# Words that make a question personal (folded): "I want" and the possessives, in the three languages.
# SMS spellings count as the words they stand for ("jveux", "jvx"; "mn" for "mon").
WANT_WORDS = frozenset({"want", "wanna", "veux", "jveux", "jvx", "voudrais", "souhaite", "aimerais", "nataka",
                        "ningependa", "naomba"})
PERSONAL_WORDS = WANT_WORDS | {"my", "mine", "ma", "mon", "mn", "mes", "yangu", "wangu", "changu", "langu",
                               "zangu"}
# Words that point at one order (or dispute) the buyer has in mind, where the question has no
# possessive: an object pronoun on the verb ("how do I cancel it?", "comment l'annuler ?", "nawezaje
# kuirestore?": the Swahili object infix, -i- for an oda, -u- for a mgogoro), a demonstrative ("this
# order", "cette commande", "oda hii / hiyo / ile", "mgogoro huu / huo / ule"), "help me"
# ("aidez-moi à annuler", "nisaidie kughairi"), or the order with a relative clause in the first
# person ("the order I placed", "la commande que j'ai payée"). With "an"/"une" the same clause is the
# policy about paid orders ("how do I cancel an order I already paid for?"); Swahili has no article
# to tell the two apart ("oda niliyolipia"), so there it counts for neither. Matched on the folded
# words joined by spaces (catalogue ``tokens``: "l'annuler" is "l annuler").
ONE_ORDER = re.compile(
    r"\b(?:(?:cancel|restore|recover|undo|withdraw|close|reactivate|reinstate|revive|get) it"
    r"|this (?:order|purchase|dispute|claim|complaint)|help me"
    r"|(?:l|la|le) (?:annuler|recuperer|restaurer|retablir|reactiver|remettre|retirer|fermer|cloturer)"
    r"|cette (?:commande|cmd|commade|litige|reclamation|plainte)|aidez moi|aide moi"
    r"|ku ?i(?:ghairi|cancel|futa|rudisha|restore|rejesha|fufua|ondoa|withdraw|close)\w*"
    r"|ku ?u(?:ondoa|futa|funga|withdraw|close)\w*"
    r"|(?:oda|order|agizo|mzigo|dispute) (?:hii|hiyo|ile)|mgogoro (?:huu|huo|ule)|nisaidie\w*"
    r"|the (?:order|purchase|parcel|package|dispute|claim|complaint) (?:that |which )?i \w+"
    r"|(?:la|le|l) (?:commande|cmd|achat|colis|litige|reclamation|plainte) (?:que|qu) (?:j|je|jai))\b")
# An impersonal subject makes the same pronoun a policy question about anyone's order: "if someone
# cancels an order by mistake, can they get it back?", "si on annule par erreur, peut-on la
# récupérer ?", "mtu akicancel, anaweza kuirudisha?".
ANYONE = frozenset({"someone", "somebody", "anyone", "anybody", "people", "customer", "customers", "buyer",
                    "buyers", "on", "quelqu", "gens", "client", "clients", "acheteur", "acheteurs", "mtu", "watu",
                    "mteja", "wateja", "mnunuzi"})
# FAQ topic -> the skill that does what it describes, the words that make the question a request,
# and whether naming one order does too (its number, "it", "this order": "how do I cancel
# 8170...?" is about that order):
# "how do I cancel my order" asks for the cancellation; "what happens after I open a dispute on my
# order" asks about the process, unless the buyer says they want one ("je veux ouvrir un litige,
# comment ça se passe ?").
SKILL_OF_TOPIC = {
    "cancel_how": ("cancel_order", PERSONAL_WORDS, True),
    "restore_cancelled": ("restore_order", PERSONAL_WORDS, True),
    "withdraw_dispute_how": ("cancel_dispute", PERSONAL_WORDS, True),
    "dispute_process": ("open_dispute", WANT_WORDS, False),
}


def topic(message: Message) -> str | None:
    selected = ((message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(FAQ_INTENT) or {})
    key = (selected.get(RESPONSE_SELECTOR_PREDICTION_KEY) or {}).get(INTENT_RESPONSE_KEY) or ""
    return key.split("/", 1)[-1] or None


def says_any(text: str, words: frozenset[str]) -> bool:
    return any(word in words for word in tokens(text))


def names_one(text: str) -> bool:
    """The question is about one order or dispute the buyer has in mind (``ONE_ORDER``)."""
    said = tokens(text)
    return not ANYONE.intersection(said) and bool(ONE_ORDER.search(" ".join(said)))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OwnOrderRequest(StatelessComponent):
    """Turns a skill's how-to FAQ asked about one's own order into the skill's intent."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != FAQ_INTENT:
                continue
            skill, words, by_reference = SKILL_OF_TOPIC.get(topic(message) or "", (None, frozenset(), False))
            text = message.get(TEXT) or ""
            if skill is None:
                continue
            if not (says_any(text, words) or (by_reference and (find_order_numbers(text) or names_one(text)))):
                continue
            promote(message, skill)
        return messages
