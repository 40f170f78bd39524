"""Per-message language identification for French, Swahili and English.

Two sources of evidence are combined:

* our own training data: every intent block in ``data/nlu/<lang>/`` carries
  ``metadata: {language: <lang>}``; the detector learns a smoothed unigram model of the
  (accent-folded) words of each language. It knows chat words no general detector has seen:
  "jveux", "cmd", "oda", "xaxa", "asnte", "pls".
* `lingua <https://github.com/pemistahl/lingua-py>`_, restricted to the three languages, which
  is strong on longer sentences and on words we never trained on.

Scoring (``detect``): each known word votes with its smoothed posterior p(language | word), floored
so that one loanword cannot veto the others ("merci beaucoup boss", "refund yangu iko wapi");
a word we never saw votes through a character 1-3-gram model of the known vocabulary; lingua
is added with a weight that grows with the letters of the message and shrinks when our
vocabulary already knows most words (it has not seen Sheng or SMS French). The constants were
chosen with ``tests/benchmarks/lid_check.py`` on the held-out splits.

A message with no signal ("ok", an order number, an emoji) keeps the conversation's language:
the component reads the ``language`` slot from the tracker (the graph passes it in at
inference) and reports that language with ``language_signal: false``.

``LanguageSwitch`` runs after intent classification: for ``switch_language`` ("in English
please", "en francais stp", "kwa Kiswahili tafadhali") it resolves the requested language.
The ``language`` slot copies the parse result's ``language`` after every message (the custom
slot mapping ``action_detect_language``, run inside the Rasa server by :func:`language_slot_events`,
see ``bot/rasa_ext/slot_mappings.py``), so it follows the user and stays put on messages without a signal.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

from bot.components.stateless import StatelessComponent
from bot.components.text import words

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "fr", "sw")
DEFAULT_LANGUAGE = "en"
LANGUAGE = "language"
LANGUAGE_CONFIDENCE = "language_confidence"
LANGUAGE_SIGNAL = "language_signal"
LANGUAGE_SLOT = "language"
SWITCH_INTENT = "switch_language"

# Names users give the three languages, in the three languages (accent-folded).
LANGUAGE_NAMES = {
    "en": {"english", "englsh", "inglish", "anglais", "anglai", "angle", "kiingereza", "kingereza",
           "kizungu", "eng", "en"},
    "fr": {"french", "francais", "franсais", "francai", "fransais", "kifaransa", "kifaransaa", "fr",
           "franglais"},
    "sw": {"swahili", "kiswahili", "kiswahli", "swahli", "swa", "sw", "kisw"},
}


@lru_cache(maxsize=1)
def _lingua_detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.ENGLISH, Language.FRENCH, Language.SWAHILI
    ).build()


_LINGUA_CODES = {"ENGLISH": "en", "FRENCH": "fr", "SWAHILI": "sw"}


def lingua_scores(text: str) -> dict[str, float]:
    """Confidence per language from lingua (sums to 1, or all zero without letters)."""
    scores = {lang: 0.0 for lang in LANGUAGES}
    for value in _lingua_detector().compute_language_confidence_values(text):
        scores[_LINGUA_CODES[value.language.name]] = value.value
    return scores


def requested_language(text: str) -> str | None:
    """The language a user names in an explicit request ("in English please")."""
    for token in words(text):
        for lang, names in LANGUAGE_NAMES.items():
            if token in names and len(token) > 2:
                return lang
    return None


# Tuned on the held-out splits with tests/benchmarks/lid_check.py (see detect()).
DEFAULT_ALPHA = 0.1
DEFAULT_MIN_CONFIDENCE = 0.75
TOKEN_FLOOR = 0.02      # one word can never rule a language out: p(lang | word) >= floor
CHAR_ORDER = 3          # character n-grams (of "<word>") for words the vocabulary never saw
CHAR_WEIGHT = 1.0       # weight of one unknown word's character evidence vs one known word
CHAR_ALPHA = 0.5
# lingua's weight: none on very short input, some on a few words, more on sentences.
LINGUA_MIN_LETTERS = 4
LINGUA_SENTENCE_LETTERS = 15
LINGUA_SHORT_WEIGHT = 0.3
LINGUA_SENTENCE_WEIGHT = 1.2
# ... scaled down when our vocabulary knows most words (it has seen the chat and code-switching
# lingua has not: "cancel dispute ya order"): factor = KNOWN_DISCOUNT + (1 - it) * unknown share.
LINGUA_KNOWN_DISCOUNT = 0.4
LINGUA_FLOOR = 1e-4     # lingua can never say more than log(1/floor) against a language


# Code-switching keeps the grammar of the speaker's language and borrows English nouns and verbs
# ("niko na issue with my order", "order yangu is not delivered"): the grammar words decide. Swahili
# grammar is easy to see: possessives, a few request verbs, and verbs conjugated with a subject
# and a tense prefix (ni-li-ghairi, ha-ija-fika, ime-vunjika). Greetings and thanks ("asante",
# "sawa", "mambo") are not counted: English speakers in East Africa use them too. One such word
# turns an English reading into Swahili (see detect()).
SWAHILI_GRAMMAR_WORDS = frozenset(
    "yangu yako yake yetu yenu yao wangu wako wake changu chako chake langu lako lake vyangu "
    "zangu zako naomba nataka ningependa niko uko iko yuko tuko wapi lini gani nini mimi wewe "
    "sijui hakuna kwa sababu tafadhali kwanini mbona bado kabisa".split())
SWAHILI_VERB_RE = re.compile(
    r"^(?:ni|u|a|tu|m|wa|i|ki|vi|zi|li|ya|u|si|ha|hai|hau|haku|hatu|ham|hawa|hu)"
    r"(?:li|me|na|ta|ja|ki|ku|nge|sha|meshi)[a-z]{3,}$")
SWAHILI_GRAMMAR_MIN_POSTERIOR = 0.8
# English words before an informal "ya" (= you): "see ya later", "thank ya kindly", "love ya all".
ENGLISH_BEFORE_YA = frozenset("see thank thanks love miss catch bet told tell hear got get".split())

# Borrowed words do not switch a conversation: Nairobi and Dakar users type "cancel order",
# "refund status", "tracking" inside Swahili or French conversations. A short message whose every
# word our data also uses in the conversation's language says nothing against that language.
LOANWORD_MAX_TOKENS = 3
LOANWORD_MIN_POSTERIOR = 0.15


def _only_loanwords(tokens: list[str], model: LanguageModel, language: str) -> bool:
    """True for a short message whose words are all used in ``language`` by our data too."""
    return 0 < len(tokens) <= LOANWORD_MAX_TOKENS and all(
        token in model.vocabulary and model.posterior(token).get(language, 0.0) >= LOANWORD_MIN_POSTERIOR
        for token in tokens)


# Marks of code or markup, not of a language: statement ends and comments, tags, braces,
# assignments, pipes, calls ("alert(1)"), HTML entities, a leading slash command, a URL scheme
# that runs script, SQL's keywords in capitals and its quoted tautologies ("' OR '1'='1").
CODE_MARK_RE = re.compile(
    r"[;<>{}=$|`\\]|--|(?i:[a-z]\(|&[a-z]+;|^\s*/[a-z]|javascript:)"
    r"|\b(?:SELECT|UNION|DROP|DELETE|INSERT)\b|\bOR\s*['\"\d]|['\"]\s*=")
CODE_MIN_MARKS = 2


def looks_like_code(text: str) -> bool:
    """SQL, a script tag, a template ("'; DROP TABLE orders; --", "<script>alert(1)</script>"):
    its English keywords are not the buyer switching language, so it does not move the
    conversation's. Prose seldom has two such marks; one semicolon in a sentence still counts
    as prose."""
    return len(CODE_MARK_RE.findall(text)) >= CODE_MIN_MARKS


def _swahili_connective(tokens: list[str], index: int) -> bool:
    """True for a "ya" joining two words ("status ya order", "refund ya pesa"): Swahili's
    possessive between English nouns; "see ya", "thank ya" and a closing "ya" are English."""
    return (tokens[index] == "ya" and 0 < index < len(tokens) - 1
            and tokens[index - 1] not in ENGLISH_BEFORE_YA)


def _swahili_grammar(tokens: list[str], model: LanguageModel) -> int:
    """Swahili grammar words in ``tokens`` that our vocabulary (or, for a word it never saw, its
    character model) takes for Swahili."""
    count = 0
    for index, token in enumerate(tokens):
        if _swahili_connective(tokens, index):
            count += 1
            continue
        if token not in SWAHILI_GRAMMAR_WORDS and not SWAHILI_VERB_RE.match(token):
            continue
        if token in model.vocabulary:
            if model.posterior(token).get("sw", 0.0) >= SWAHILI_GRAMMAR_MIN_POSTERIOR:
                count += 1
        elif max(chars := model.char_log_likelihoods(token), key=chars.get) == "sw":
            count += 1
    return count


def _char_ngrams(word: str, order: int = CHAR_ORDER) -> list[str]:
    padded = f"<{word}>"
    return [padded[i:i + n] for n in range(1, order + 1) for i in range(len(padded) - n + 1)
            if padded[i:i + n] not in ("<", ">")]


class LanguageModel:
    """Smoothed unigram model of our training data, one distribution per language.

    Words the training data never saw ("deedet", "heyyy", "baax") are scored by a character
    n-gram model of the known vocabulary (derived from the same counts, nothing extra is stored).
    """

    def __init__(self, counts: dict[str, dict[str, int]], alpha: float = DEFAULT_ALPHA) -> None:
        self.counts = counts
        self.alpha = alpha
        self.totals = {lang: sum(c.values()) for lang, c in counts.items()}
        self.vocabulary = set().union(*(c.keys() for c in counts.values())) if counts else set()
        # Character n-grams of each language's word types (a word counts once, however frequent).
        self.char_counts: dict[str, Counter] = {}
        for lang, lang_counts in counts.items():
            grams: Counter = Counter()
            for word in lang_counts:
                grams.update(_char_ngrams(word))
            self.char_counts[lang] = grams
        self.char_totals = {lang: sum(c.values()) for lang, c in self.char_counts.items()}
        self.char_vocabulary = (
            set().union(*(c.keys() for c in self.char_counts.values())) if counts else set()
        )

    @classmethod
    def from_examples(cls, examples: list[tuple[str, str]], alpha: float = DEFAULT_ALPHA) -> LanguageModel:
        counts: dict[str, Counter] = {lang: Counter() for lang in LANGUAGES}
        for text, lang in examples:
            counts[lang].update(words(text))
        return cls({lang: dict(c) for lang, c in counts.items()}, alpha)

    def log_likelihoods(self, tokens: list[str]) -> tuple[dict[str, float], int]:
        """Log-likelihood per language of the known tokens, and how many were known."""
        known = [t for t in tokens if t in self.vocabulary]
        size = max(len(self.vocabulary), 1)
        scores = {}
        for lang in LANGUAGES:
            lang_counts = self.counts.get(lang, {})
            denominator = self.totals.get(lang, 0) + self.alpha * size
            scores[lang] = sum(
                math.log((lang_counts.get(t, 0) + self.alpha) / denominator) for t in known
            )
        return scores, len(known)

    def posterior(self, token: str) -> dict[str, float]:
        """p(language | token) for a known token (uniform priors over the languages)."""
        size = max(len(self.vocabulary), 1)
        likelihood = {
            lang: (self.counts.get(lang, {}).get(token, 0) + self.alpha)
            / (self.totals.get(lang, 0) + self.alpha * size)
            for lang in LANGUAGES
        }
        total = sum(likelihood.values())
        return {lang: value / total for lang, value in likelihood.items()}

    def token_log_posteriors(self, tokens: list[str]) -> tuple[dict[str, float], int]:
        """Sum over the known tokens of log p(language | token), each floored at TOKEN_FLOOR so
        that a word of another language ("merci boss", "thanks msee") cannot veto the rest."""
        known = [t for t in tokens if t in self.vocabulary]
        size = max(len(self.vocabulary), 1)
        denominators = {
            lang: self.totals.get(lang, 0) + self.alpha * size for lang in LANGUAGES
        }
        scores = {lang: 0.0 for lang in LANGUAGES}
        for token in known:
            likelihood = {
                lang: (self.counts.get(lang, {}).get(token, 0) + self.alpha) / denominators[lang]
                for lang in LANGUAGES
            }
            total = sum(likelihood.values())
            for lang in LANGUAGES:
                posterior = likelihood[lang] / total
                scores[lang] += math.log(TOKEN_FLOOR + (1 - 3 * TOKEN_FLOOR) * posterior)
        return scores, len(known)

    def char_log_likelihoods(self, token: str) -> dict[str, float]:
        """Mean log-probability per language of the character n-grams of one (unknown) word,
        centred so the languages' scores sum to zero (it only says which language is likelier)."""
        grams = [g for g in _char_ngrams(token) if g in self.char_vocabulary]
        if not grams:
            return {lang: 0.0 for lang in LANGUAGES}
        size = len(self.char_vocabulary)
        scores = {}
        for lang in LANGUAGES:
            lang_counts = self.char_counts.get(lang, {})
            denominator = self.char_totals.get(lang, 0) + CHAR_ALPHA * size
            scores[lang] = sum(
                math.log((lang_counts.get(g, 0) + CHAR_ALPHA) / denominator) for g in grams
            ) / len(grams)
        mean = sum(scores.values()) / len(scores)
        return {lang: value - mean for lang, value in scores.items()}


def detect(
    text: str, model: LanguageModel, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    conversation: str | None = None,
) -> tuple[str, float, bool]:
    """Returns (language, confidence, signal) for one message.

    ``signal`` is False when the message says nothing about its language (no known word and too
    few letters for lingua to be trusted, or no clear winner), or, given the ``conversation``'s
    language, when a short message only borrows words that language uses too.
    """
    tokens = words(text)
    letters = sum(len(t) for t in tokens)
    if not tokens:
        return DEFAULT_LANGUAGE, 0.0, False
    ours, known = model.token_log_posteriors(tokens)
    combined = dict(ours)
    unknown = [t for t in tokens if t not in model.vocabulary and len(t) > 1]
    for token in unknown:
        chars = model.char_log_likelihoods(token)
        for lang in LANGUAGES:
            combined[lang] += CHAR_WEIGHT * chars[lang]
    # lingua is reliable on sentences, noisy on one or two short words.
    if letters < LINGUA_MIN_LETTERS:
        lingua_weight = 0.0
    elif letters < LINGUA_SENTENCE_LETTERS:
        lingua_weight = LINGUA_SHORT_WEIGHT
    else:
        lingua_weight = LINGUA_SENTENCE_WEIGHT
    lingua_weight *= LINGUA_KNOWN_DISCOUNT + (1 - LINGUA_KNOWN_DISCOUNT) * (1 - known / len(tokens))
    if lingua_weight:
        theirs = lingua_scores(" ".join(tokens))
        for lang in LANGUAGES:
            combined[lang] += lingua_weight * math.log(max(theirs[lang], LINGUA_FLOOR))
    top = max(combined.values())
    exp = {lang: math.exp(score - top) for lang, score in combined.items()}
    total = sum(exp.values())
    probs = {lang: value / total for lang, value in exp.items()}
    best = max(probs, key=probs.get)
    if best == "en" and _swahili_grammar(tokens, model):
        # Swahili grammar with English words is Swahili with loanwords, not the reverse.
        best = "sw"
        probs["sw"] += probs.pop("en")
    # Single letters ("0x1F", "%s%n", the "j" of "j'ai") are in our vocabulary but, alone, say
    # nothing: a message needs a known word of two letters or more, or enough letters for lingua.
    has_evidence = any(len(t) > 1 and t in model.vocabulary for t in tokens) or letters >= 8
    if conversation and best != conversation and (
            _only_loanwords(tokens, model, conversation) or looks_like_code(text)):
        has_evidence = False
    return best, probs[best], has_evidence and probs[best] >= min_confidence


SLOT_MAPPING_ACTION = "action_detect_language"


def language_slot_events(tracker: DialogueStateTracker) -> list[Any]:
    """The ``language`` slot's custom mapping: it follows the language of the latest message."""
    from rasa.shared.core.events import SlotSet

    message = tracker.latest_message
    detected = (message.parse_data or {}).get(LANGUAGE) if message else None
    if detected in LANGUAGES and detected != tracker.get_slot(LANGUAGE_SLOT):
        return [SlotSet(LANGUAGE_SLOT, detected)]
    return []


def _slot_language(tracker: DialogueStateTracker | None) -> str | None:
    if tracker is None:
        return None
    value = tracker.get_slot(LANGUAGE_SLOT)
    return value if value in LANGUAGES else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True
)
class LanguageDetector(GraphComponent):
    """Adds ``language``, ``language_confidence`` and ``language_signal`` to each message."""

    MODEL_FILE = "language_model.json"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_confidence": DEFAULT_MIN_CONFIDENCE, "alpha": DEFAULT_ALPHA}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LanguageModel | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model or LanguageModel({})

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LanguageDetector:
        try:
            with model_storage.read_from(resource) as directory:
                counts = read_json_file(directory / cls.MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("No trained language model found; using lingua only.")
            counts = {}
        return cls(config, model_storage, resource, LanguageModel(counts, config["alpha"]))

    @staticmethod
    def example_language(example: Message) -> str | None:
        metadata = example.get("metadata") or {}
        intent_metadata = metadata.get("intent") or {}
        lang = intent_metadata.get(LANGUAGE) if isinstance(intent_metadata, dict) else None
        return lang if lang in LANGUAGES else None

    def train(self, training_data: TrainingData) -> Resource:
        examples = []
        for example in training_data.intent_examples:
            lang = self.example_language(example)
            if lang and example.get(TEXT):
                examples.append((example.get(TEXT), lang))
        model = LanguageModel.from_examples(examples)
        with self._storage.write_to(self._resource) as directory:
            dump_obj_as_json_to_file(directory / self.MODEL_FILE, model.counts)
        self._model = LanguageModel(model.counts, self._config["alpha"])
        logger.info("Language model trained on %d examples.", len(examples))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            lang = self.example_language(example)
            if lang:
                example.set(LANGUAGE, lang)
                example.set(LANGUAGE_CONFIDENCE, 1.0)
                example.set(LANGUAGE_SIGNAL, True)
        return training_data

    def process(
        # Optional[...], not "X | None": Rasa's graph validation compares these annotations to the
        # types it passes and does not understand PEP 604 unions.
        self, messages: list[Message], tracker: Optional[DialogueStateTracker] = None,  # noqa: UP045
    ) -> list[Message]:
        previous = _slot_language(tracker)
        for message in messages:
            text = message.get(TEXT) or ""
            lang, confidence, signal = detect(
                text, self._model, self._config["min_confidence"], conversation=previous)
            if not signal and previous:
                lang = previous
            message.set(LANGUAGE, lang, add_to_output=True)
            message.set(LANGUAGE_CONFIDENCE, round(confidence, 4), add_to_output=True)
            message.set(LANGUAGE_SIGNAL, signal, add_to_output=True)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageSwitch(StatelessComponent):
    """Honours explicit requests: ``switch_language`` sets ``language`` to the language named."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            # DIET learns the `language` entity from switch_language examples; the lexicon
            # below is the single source of the value, so drop DIET's guesses.
            entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != LANGUAGE]
            message.set(ENTITIES, entities, add_to_output=True)
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != SWITCH_INTENT:
                continue
            target = requested_language(message.get(TEXT) or "")
            if target:
                message.set(LANGUAGE, target, add_to_output=True)
                message.set(LANGUAGE_SIGNAL, True, add_to_output=True)
                message.set("language_requested", True, add_to_output=True)
        return messages


__all__ = ["LanguageDetector", "LanguageSwitch", "detect", "requested_language"]
