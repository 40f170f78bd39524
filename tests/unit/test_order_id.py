"""Order numbers are found the way buyers type them, and phone numbers are not mistaken for them."""

import pytest

from bot.components.order_id import find_order_numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("where is 8170034500000003", ["8170034500000003"]),
        ("ou est ma cmd 8170 0345 0000 0003 stp", ["8170034500000003"]),
        ("oda #8170034500000003 iko wapi", ["8170034500000003"]),
        ("n°8170-0345-0000-0003", ["8170034500000003"]),
        ("8170034500000003,8170051200000006", ["8170034500000003", "8170051200000006"]),
        ("call me on +254 712 345 678", []),
        ("+447700900123", []),
        ("0712 345 678", []),
        ("ring me back on 07700 900123", []),  # a UK mobile has 11 digits, like a short order number
        ("my number is 0803 123 4567", []),  # so does a Nigerian one
        ("order 12 please", []),
        ("", []),
    ],
)
def test_order_numbers_as_typed(text, expected):
    assert [digits for _, _, digits in find_order_numbers(text)] == expected


def test_span_points_at_the_number_in_the_text():
    text = "cancel #8170 0345 0000 0003 now"
    [(start, end, _)] = find_order_numbers(text)
    assert text[start:end] == "8170 0345 0000 0003"


@pytest.mark.parametrize(
    "text, contacts, only",
    [
        ("amina.diallo@example.com", ["amina.diallo@example.com"], True),
        ("0712 345 678", ["0712 345 678"], True),
        ("07700 900123", ["07700 900123"], True),
        ("+254 712 345 678", ["+254 712 345 678"], True),
        ("email: Oliver.Smith@Example.co.uk", ["oliver.smith@example.co.uk"], True),
        ("8170 0345 0000 0003", [], True),
        ("#8170034500000003 !", [], True),
        ("ni 0712345678", ["0712345678"], True),
        ("my email is oliver.smith@example.co.uk", ["oliver.smith@example.co.uk"], True),
        ("mon mail c'est amina.diallo@example.com", ["amina.diallo@example.com"], True),
        ("simu yangu ni 0712 345 678", ["0712 345 678"], True),
        ("hello, my email is oliver.smith@example.co.uk", ["oliver.smith@example.co.uk"], False),
        ("cancel 8170034500000003 please", [], False),
        ("hello", [], False),
    ],
)
def test_identifier_only_messages_are_inform(text, contacts, only):
    from bot.components.identifiers import find_contacts, only_identifiers

    found = find_contacts(text)
    spans = [(s, e) for s, e, _ in found] + [(s, e) for s, e, _ in find_order_numbers(text)]
    assert [value for _, _, value in found] == contacts
    assert only_identifiers(text, spans) is only


@pytest.mark.parametrize("text, intent, expected", [
    ("u can reach me on 0712 345 678", "out_of_scope", "inform"),     # an account: about the orders
    ("la 8170034500000003 stp elle est ou", "out_of_scope", "inform"),
    ("what's the weather in Nairobi", "out_of_scope", "out_of_scope"),  # nothing of the buyer's
    ("cancel 8170034500000003 please", "cancel_order", "cancel_order"),  # a request stays one
    ("here u go oliver.smith@example.co.uk", "open_dispute@0.2", "inform"),  # no reading the model is sure of
    ("u can find me with oliver.smith@example.co.uk", "request_human", "inform"),  # to be reached: a contact
    ("appelez-moi au 0712 345 678", "request_human", "inform"),
    ("nipigie kwa 0712 345 678", "request_human", "inform"),
    ("get an agent to call me on 0712 345 678", "request_human", "request_human"),  # a person asked for
    ("nataka kuongea na mtu, simu yangu 0712345678", "request_human", "request_human"),
    ("un conseiller svp, mon mail awa@example.sn", "request_human", "request_human"),
    ("I want to talk to a human", "request_human", "request_human"),  # no contact: nothing to give
])
def test_a_message_naming_an_order_or_account_is_not_out_of_scope(text, intent, expected):
    from rasa.shared.nlu.training_data.message import Message

    from bot.components.identifiers import IdentifierExtractor

    name, _, confidence = intent.partition("@")
    confidence = float(confidence or 0.6)
    message = Message(data={"text": text, "intent": {"name": name, "confidence": confidence},
                            "intent_ranking": [{"name": name, "confidence": confidence},
                                               {"name": "inform", "confidence": min(confidence, 0.3) / 2}]})
    IdentifierExtractor().process([message])
    assert message.get("intent")["name"] == expected
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == expected
    assert len(ranking) == 1 or ranking[0]["confidence"] > ranking[1]["confidence"]  # no tie for the fallback
