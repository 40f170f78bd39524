"""A one-word message must be surer of its intent than a sentence before it starts a skill."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.components.fallback import ShortMessageFallbackClassifier


def classify(tmp_path, text: str, intent: str, confidence: float, entities=()) -> str:
    component = ShortMessageFallbackClassifier.create(
        {**ShortMessageFallbackClassifier.get_default_config(), "threshold": 0.35, "single_word_threshold": 0.5},
        LocalModelStorage(tmp_path), Resource("fallback"), ExecutionContext(None),
    )
    message = Message(data={"text": text, "entities": list(entities),
                            "intent": {"name": intent, "confidence": confidence},
                            "intent_ranking": [{"name": intent, "confidence": confidence},
                                               {"name": "order_status", "confidence": 0.1}]})
    return component.process([message])[0].get("intent")["name"]


def test_an_unsure_single_word_is_asked_about(tmp_path):
    assert classify(tmp_path, "commande", "cancel_order", 0.43) == "nlu_fallback"


def test_a_sentence_as_unsure_keeps_its_intent(tmp_path):
    assert classify(tmp_path, "annulez la commande", "cancel_order", 0.43) == "cancel_order"


def test_a_confident_single_word_keeps_its_intent(tmp_path):
    assert classify(tmp_path, "annuler", "cancel_order", 0.85) == "cancel_order"


def test_a_single_word_tagged_as_an_entity_keeps_its_intent(tmp_path):
    entity = {"entity": "dispute_reason", "value": "damaged", "start": 0, "end": 5}
    assert classify(tmp_path, "cassé", "inform", 0.42, [entity]) == "inform"


def test_the_usual_threshold_still_applies_to_sentences(tmp_path):
    assert classify(tmp_path, "blah blah", "greet", 0.2) == "nlu_fallback"


def test_a_message_naming_only_a_topic_with_two_skills_is_asked_about(tmp_path):
    # "my dispute": open one or withdraw one? However sure the classifier is, the bot asks.
    for text in ("my dispute", "Mon litige", "mgogoro wangu", "réclamation"):
        assert classify(tmp_path, text, "cancel_dispute", 0.92) == "nlu_fallback", text


def test_greetings_please_and_regarding_around_the_topic_still_only_name_it(tmp_path):
    # People wrap the topic in a greeting, "please" or "regarding": still no word says what to do.
    for text in ("hi, regarding my dispute pls", "hello I have a question about my dispute",
                 "slt c'est pour mon litige svp", "Bonjour, au sujet de ma réclamation",
                 "habari, nina swali kuhusu mgogoro wangu", "mgogoro wangu tafadhali"):
        assert classify(tmp_path, text, "open_dispute", 0.92) == "nlu_fallback", text


def test_a_request_about_the_topic_keeps_its_intent(tmp_path):
    for text in ("withdraw my dispute", "je veux ouvrir un litige", "nataka kufuta mgogoro wangu",
                 "hi, I want to close my dispute please", "slt c'est pour ouvrir un litige svp"):
        assert classify(tmp_path, text, "cancel_dispute", 0.92) == "cancel_dispute", text


def ranked(tmp_path, ranking: list[tuple[str, float]], text: str) -> str:
    """The intent after the fallback as ``bot/config.yml`` configures it."""
    import yaml

    config = yaml.safe_load((Path(__file__).parents[2] / "bot" / "config.yml").read_text())
    settings = next(c for c in config["pipeline"] if c["name"].endswith("ShortMessageFallbackClassifier"))
    component = ShortMessageFallbackClassifier.create(
        {**ShortMessageFallbackClassifier.get_default_config(), **settings},
        LocalModelStorage(tmp_path), Resource("fallback"), ExecutionContext(None),
    )
    message = Message(data={"text": text, "entities": [],
                            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
                            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]})
    return component.process([message])[0].get("intent")["name"]


def test_the_likelier_of_two_close_readings_answers(tmp_path):
    # The near-tie clarification asked buyers to pick what they had already said: a change of mind
    # at a confirmation, a withdrawal with its story, thanks and goodbye at once.
    assert ranked(tmp_path, [("deny", 0.51), ("cancel_order", 0.48)],
                  "Actually no, I've changed my mind. Don't cancel it.") == "deny"
    assert ranked(tmp_path, [("cancel_dispute", 0.503), ("refund_status", 0.496)],
                  "drop my dispute, the seller and I agreed on a partial refund") == "cancel_dispute"
    assert ranked(tmp_path, [("thank", 0.51), ("goodbye", 0.48)], "ok thanks bye") == "thank"


def test_an_unsure_sentence_is_still_asked_about(tmp_path):
    assert ranked(tmp_path, [("order_status", 0.30), ("cancel_order", 0.28)], "the thing with the stuff") == "nlu_fallback"
