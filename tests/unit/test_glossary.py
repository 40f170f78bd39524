"""One term per concept and language: every response, button title and label the bot can say uses
the glossary's terms (bot/domain/glossary.yml), none of the variants it rejects, and glosses an
English word at most once per reply."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from rasa.shared.core.domain import Domain

from actions.orders.enums import CancellationReason, DisputeReason, TrackingMilestone
from actions.skills.catalogue import BY_INTENT
from actions.skills.localise import glossary
from bot.generate import GENERATED, ROOT, render
from tests.unit.test_domain import variation_language

LANGUAGES = ("en", "fr", "sw")
# Interface labels quoted as the app writes them (« Annuler la demande », "Resume order") are exempt.
QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def bot_texts(domain: Domain) -> Iterator[tuple[str, str, str]]:
    """(where, language, text) for every text the bot can show: responses, button titles, labels."""
    for name, variations in domain.responses.items():
        for variation in variations:
            lang = variation_language(variation)
            if variation.get("text"):
                yield name, lang, variation["text"]
            for button in variation.get("buttons") or []:
                yield f"{name} (button)", lang, button["title"]
    for group, labels in glossary()["labels"].items():
        for code, by_language in labels.items():
            for lang in LANGUAGES:
                yield f"label {group}.{code}", lang, by_language[lang]
    for intent, by_language in glossary()["skills"].items():
        for lang in LANGUAGES:
            yield f"skill title {intent}", lang, by_language[lang]


def rejected(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for concept, entry in glossary()["terms"].items():
        for pattern in entry[lang].get("avoid", []):
            found.append((f"terms.{concept}", re.compile(pattern, re.IGNORECASE | re.MULTILINE)))
    for entry in glossary()["phrasing"].get(lang, []):
        found.append(("phrasing", re.compile(entry["avoid"], re.IGNORECASE | re.MULTILINE)))
    return found


def violations(where: str, lang: str, text: str) -> list[str]:
    unquoted = QUOTED.sub("«»", text)
    return [f"{where} [{lang}]: {rule} {match.group(0)!r} in {text!r}"
            for rule, pattern in rejected(lang) for match in [pattern.search(unquoted)] if match]


def gloss_repeats(text: str, lang: str) -> list[str]:
    """English glosses ("(dispute)") a French or Swahili text gives more than once."""
    words = glossary()["glosses"].get(lang, [])
    return [word for word in words if text.casefold().count(f"({word.casefold()})") > 1]


def test_bot_text_uses_no_rejected_variant(domain):
    found = [problem for where, lang, text in bot_texts(domain) for problem in violations(where, lang, text)]
    assert found == []


def test_the_check_catches_what_the_issue_named():
    """The rules fire on the wordings the review found (so the test above can fail)."""
    assert violations("x", "sw", "Bofya kitufe cha Futa oda.")
    assert violations("x", "sw", "Oda {order_id} imefutwa.")
    assert violations("x", "sw", "Niirejeshe oda?")
    assert violations("x", "sw", "Tayari: nimetuma ombi.")
    assert violations("x", "fr", "Voulez-vous que je la reprenne ?")
    assert violations("x", "fr", "Le litige sur la commande est annulé.")
    assert violations("x", "fr", "Notre support, disponible 24 h/24, peut vous aider.")
    assert violations("x", "en", "Our 24/7 support can tell you more.")
    assert not violations("x", "fr", "En bas, touchez « Annuler la demande » et confirmez.")
    assert not violations("x", "sw", "Hakuna pesa za kurejeshewa; mafuta ya taa si bidhaa yetu.")


def test_english_words_are_glossed_at_most_once_per_response(domain):
    repeated = {(where, lang): words for where, lang, text in bot_texts(domain)
                for words in [gloss_repeats(text, lang)] if words}
    assert repeated == {}


def test_every_code_the_actions_word_has_a_label_in_three_languages():
    labels = glossary()["labels"]
    for group, enum in (("milestone", TrackingMilestone), ("dispute_reason", DisputeReason),
                        ("cancel_reason", CancellationReason)):
        assert set(labels[group]) == {member.value for member in enum}, group
        assert all(set(by_language) == set(LANGUAGES) and all(by_language.values())
                   for by_language in labels[group].values()), group
    assert set(glossary()["skills"]) == set(BY_INTENT) | {"request_human"}


def test_reason_buttons_are_the_glossary_labels(domain):
    """The reason questions are generated from the glossary (bot/generate.py): one home for the words."""
    for response, group in (("utter_ask_dispute_reason", "dispute_reason"), ("utter_ask_cancel_reason", "cancel_reason")):
        for variation in domain.responses[response]:
            lang = variation_language(variation)
            titles = [b["title"] for b in variation["buttons"]]
            assert titles == [label[lang] for label in glossary()["labels"][group].values()]
    for relative, build in GENERATED.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == render(build), f"run python -m bot.generate ({relative})"
