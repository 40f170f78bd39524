"""A one-word message must be surer of its intent than a sentence before it starts a skill."""

from __future__ import annotations

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


def ranked(tmp_path, ranking: list[tuple[str, float]], text: str = "ok thanks bye") -> str:
    component = ShortMessageFallbackClassifier.create(
        {**ShortMessageFallbackClassifier.get_default_config(), "threshold": 0.35, "ambiguity_threshold": 0.05},
        LocalModelStorage(tmp_path), Resource("fallback"), ExecutionContext(None),
    )
    message = Message(data={"text": text, "entities": [],
                            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
                            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]})
    return component.process([message])[0].get("intent")["name"]


def test_thanks_and_goodbye_together_are_not_ambiguous(tmp_path):
    # "ok thanks bye" was "Sorry, I didn't understand" at the end of a conversation that went well.
    assert ranked(tmp_path, [("thank", 0.51), ("goodbye", 0.48)]) == "thank"
    assert ranked(tmp_path, [("goodbye", 0.50), ("thank", 0.47)]) == "goodbye"


def test_other_close_pairs_are_still_asked_about(tmp_path):
    assert ranked(tmp_path, [("cancel_order", 0.51), ("restore_order", 0.48)], "cancel undo") == "nlu_fallback"
    assert ranked(tmp_path, [("thank", 0.51), ("affirm", 0.48)], "ok thanks") == "nlu_fallback"


def test_an_identifier_given_is_not_ambiguous(tmp_path):
    contact = {"entity": "contact", "value": "awa@example.sn", "start": 18, "end": 32}
    component = ShortMessageFallbackClassifier.create(
        {**ShortMessageFallbackClassifier.get_default_config(), "threshold": 0.35, "ambiguity_threshold": 0.05},
        LocalModelStorage(tmp_path), Resource("fallback"), ExecutionContext(None),
    )

    def tied(intent: str, entities: list) -> str:
        message = Message(data={"text": "contactez moi sur awa@example.sn", "entities": entities,
                                "intent": {"name": intent, "confidence": 0.4},
                                "intent_ranking": [{"name": intent, "confidence": 0.4},
                                                   {"name": "request_human", "confidence": 0.38}]})
        return component.process([message])[0].get("intent")["name"]

    assert tied("inform", [contact]) == "inform"  # the identifier decided it
    assert tied("inform", []) == "nlu_fallback"  # no identifier: still asked about
    assert tied("order_status", [contact]) == "nlu_fallback"
