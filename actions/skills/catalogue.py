"""The skills: which intent asks for one, which form collects it, which action does it.

One home for that mapping: the follow-up actions (a "yes" to an offer, an order number typed on its
own), the hand-over ticket's priority and the domain (tested in ``tests/unit/test_domain.py``) all
read it from here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skill:
    intent: str
    form: str
    action: str
    writes: bool  # a write asks for an explicit yes and is filed once
    priority: str  # of the support ticket when a person takes over this skill


SKILLS = (
    Skill("order_status", "status_form", "action_order_status", False, "normal"),
    Skill("order_not_received", "delivery_form", "action_order_not_received", False, "high"),
    Skill("refund_status", "refund_form", "action_refund_status", False, "normal"),
    Skill("cancel_order", "cancel_form", "action_cancel_order", True, "normal"),
    Skill("restore_order", "restore_form", "action_restore_order", True, "high"),
    Skill("open_dispute", "dispute_form", "action_open_dispute", True, "high"),
    Skill("cancel_dispute", "withdraw_form", "action_withdraw_dispute", True, "high"),
)
BY_INTENT = {skill.intent: skill for skill in SKILLS}
BY_FORM = {skill.form: skill for skill in SKILLS}
BY_ACTION = {skill.action: skill for skill in SKILLS}


# A message made only of a topic's nouns (with possessives and articles) names the topic, not what
# to do about it: "my dispute", "mon litige", "mgogoro wangu" may mean opening one or withdrawing
# one, and the classifier would pick whichever its examples use the noun with most. The NLU asks
# instead (bot/components/fallback.py) and the clarification offers the topic's skills
# (``action_clarify``), however unlikely the classifier found the second one.
TOPICS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "dispute": (
        frozenset({"dispute", "disputes", "complaint", "complaints", "claim", "claims",
                   "litige", "litiges", "reclamation", "reclamations", "plainte", "plaintes",
                   "mgogoro", "migogoro", "malalamiko", "lalamiko", "kesi"}),
        ("open_dispute", "cancel_dispute"),
    ),
}
# Words that name nothing to do: articles and possessives, greetings, "please", "regarding" and "I
# have a question about" ("hi, regarding my dispute pls", "slt c'est pour mon litige svp", "habari,
# nina swali kuhusu mgogoro wangu"). Folded (catalogue ``tokens``: "c'est" is "c", "est").
TOPIC_FILLERS = frozenset({
    "my", "the", "a", "an", "this", "about", "re", "regarding", "concerning", "its", "it", "s", "is",
    "i", "have", "question", "hi", "hello", "hey", "please", "pls", "plz",
    "mon", "ma", "mes", "le", "la", "les", "un", "une", "ce", "c", "est", "pour", "concernant", "au",
    "sujet", "de", "du", "j", "ai", "jai", "bonjour", "bjr", "slt", "salut", "bonsoir", "svp", "stp",
    "wangu", "yangu", "langu", "zangu", "kuhusu", "juu", "ya", "hii", "ni", "nina", "swali", "habari",
    "mambo", "sasa", "niaje", "hujambo", "salaam", "salam", "tafadhali", "tafadali"})
# Words that point away from the order just discussed: "and my other order?", "l'autre commande",
# "oda nyingine je?". The same question again without one of them ("when will it arrive?" right
# after a status answer) is about the same order (actions/skills/forms.py, ``asked_again``).
OTHER_ORDER_WORDS = frozenset({"other", "another", "others", "second", "different",
                               "autre", "autres", "deuxieme", "seconde",
                               "nyingine", "ingine", "zingine", "tofauti"})
# Words of a "no" that is about the order number, not about going on: "I don't have it", "no idea",
# "je sais pas", "sikumbuki" (folded), and French "je (ne) l'ai pas" ("I haven't got it"). Not
# "oublie": "oublie ça" is "forget it", a stop.
NO_NUMBER_WORDS = frozenset({"know", "idea", "have", "remember", "find", "dunno", "idk", "clue", "lost", "forgot",
                             "sais", "sait", "connais", "idee", "trouve", "souviens", "perdu",
                             "sijui", "sina", "sinayo", "sikumbuki", "sioni", "sijaiona", "sijaipata", "sijapata",
                             "nimeipoteza", "nimesahau"})
HAVE_IT_RE = re.compile(r"\bl['\u2019 ]?ai\b")
# A message that refuses what the bot proposes (folded words): it opens with a no ("nah ...", "non
# ...", "hapana ...", "wacha ..."), or puts a negation on a skill's verb ("don't cancel", "n'annulez
# pas", "annulez rien", "usighairi", "msiifute": the Swahili negative subjunctive). A negation
# elsewhere refuses nothing ("sorry, I don't get it", "sitaki tena": "I don't want it any more").
NO_FIRST_WORDS = frozenset({"no", "nope", "nah", "non", "hapana", "wacha", "acha"})
# ... unless it is the no of "no problem", "no doubt", "pas de souci" said as a yes ("hapana shida").
NOT_A_NO_AFTER = frozenset({"problem", "problems", "prob", "probs", "worries", "worry", "doubt",
                            "souci", "soucis", "probleme", "pb", "shida", "tatizo", "noma"})
SKILL_VERBS = r"(?:cancel|withdraw|close|open|restore|undo|file|proceed|do|go|annul|retir|ferm|ouvr|restaur|recup|reactiv|fai|continu)"
NEGATED_VERB = re.compile(
    r"\b(?:don t|dont|do not|never|not|no need to)(?: \w+)? " + SKILL_VERBS
    + r"|\b(?:n|ne)(?: \w+)? " + SKILL_VERBS + r"\w*(?: \w+)? (?:pas|rien|plus|jamais)\b"
    + r"|\b" + SKILL_VERBS + r"\w* (?:rien|pas)\b"
    + r"|\bpas (?:besoin )?(?:d )?" + SKILL_VERBS
    + r"|\b[um]si[iu]?(?:ghairi|cancel|fut|ondo|sitish|rudish|rejesh|fung|tum)"
    + r"|\bsitaki (?:ku ?)?(?:i|u)?(?:ghairi|cancel|fut|ondo|sitish)")


def refuses(text: Any) -> bool:
    """The message refuses what the bot proposes (``NO_FIRST_WORDS``, ``NEGATED_VERB``)."""
    said = tokens(text)
    opens_with_no = bool(said) and said[0] in NO_FIRST_WORDS and (len(said) == 1 or said[1] not in NOT_A_NO_AFTER)
    return opens_with_no or bool(NEGATED_VERB.search(" ".join(said)))


# Words that open a question (folded), for a message typed without "?": "when will I be refunded",
# "quand est-ce que je serai rembourse", "nitarudishiwa pesa lini" (Swahili puts it last; its "je"
# opens nothing: French "je" is "I").
QUESTION_WORDS = frozenset({"how", "when", "what", "why", "where", "can", "could", "will", "do", "does", "is",
                            "comment", "quand", "quoi", "pourquoi", "ou", "combien", "est", "puis", "peut",
                            "vipi", "lini", "nini", "wapi", "kwanini", "naweza", "itachukua"})
QUESTION_LAST_WORDS = frozenset({"lini", "vipi", "wapi", "gani", "je", "nini"})
# Words that ask when (folded): "when", "how long", "quand", "combien de temps", "délai", "lini", "muda".
# The first three ask it by themselves; the others a remark can use too ("it took so long").
WHEN_ONLY_WORDS = frozenset({"when", "quand", "lini"})
WHEN_WORDS = WHEN_ONLY_WORDS | {"long", "temps", "delai", "muda", "ngapi"}


def asks_when(text: Any, strictly: bool = False) -> bool:
    """ "When ...?", "how long", "quand", "lini": the message asks when. ``strictly``: only by a word
    that asks it by itself, or in a question ("thanks, it took so long" asks nothing)."""
    said = set(tokens(text))
    if not strictly:
        return bool(said & WHEN_WORDS)
    return bool(said & WHEN_ONLY_WORDS) or bool(said & WHEN_WORDS) and is_question(text)


def is_question(text: Any) -> bool:
    """A message asked as a question: a "?" at its end, or a question word first (or last, in Swahili)."""
    text = str(text or "").strip()
    words = tokens(text)
    return text.endswith("?") or bool(words) and (words[0] in QUESTION_WORDS or words[-1] in QUESTION_LAST_WORDS)


# Where the NLU puts its reading of a whole message as a reason code (bot/components/reasons.py);
# the dispute and cancellation forms read it (actions/skills/forms.py).
REASON_GUESS = "reason_guess"
_WORD = re.compile(r"[^\W\d_]+")


def fold(text: str) -> str:
    """Lower case without accents: how typed words are compared with ours ("réclamation" is "reclamation")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: Any) -> list[str]:
    """The words of a message as they are compared with ours: folded, letters only."""
    return _WORD.findall(fold(str(text or "")))


def topic_of(text: str) -> str | None:
    """The topic a message only names (``TOPICS``), or None when it says more than that."""
    said = tokens(text)
    for topic, (nouns, _skills) in TOPICS.items():
        if any(t in nouns for t in said) and all(t in nouns or t in TOPIC_FILLERS for t in said):
            return topic
    return None


def names_another_order(text: str) -> bool:
    return any(token in OTHER_ORDER_WORDS for token in tokens(text))


def about_the_number(text: Any) -> bool:
    """ "No" meaning "I don't have / know the number" (NO_NUMBER_WORDS), not "stop"."""
    folded = fold(str(text or ""))
    return any(token in NO_NUMBER_WORDS for token in _WORD.findall(folded)) or bool(HAVE_IT_RE.search(folded))


def topic_skills(text: str) -> tuple[str, ...]:
    topic = topic_of(text)
    return TOPICS[topic][1] if topic else ()
