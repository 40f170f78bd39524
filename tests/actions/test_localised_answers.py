"""Every answer in every language, with real facts: no ISO timestamp, no "UTC", no raw code and no
English milestone ever reaches a French or Swahili reader, and English words are glossed at most
once per reply.

Two sweeps. (1) Every response of the domain, rendered in each language with values written by
the bot's own Localiser for each milestone and reason. (2) The skills run against the seeded demo
database, for every demo order of every customer, in every language (a customer may write in a
language that is not their country's), and their turns rendered as the user reads them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.orders as orders
import actions.orders.enums as enums
from actions.orders.db import make_engine, session_factory
from actions.orders.demo import CUSTOMERS, DEMO_ORDERS, seed
from actions.orders.schema import migrate
from actions.orders.service import OrderService
from actions.skills.localise import Localiser, glossary
from actions.skills.skills import (
    ActionCancellationFollowup,
    ActionCancelOrder,
    ActionOpenDispute,
    ActionOrderNotReceived,
    ActionOrderStatus,
    ActionRefundStatus,
    ActionRestoreOrder,
    ActionWithdrawDispute,
)
from bot.triage.replies import PLACEHOLDER, Replies
from tests.unit.test_glossary import QUOTED, gloss_repeats

LANGUAGES = ("en", "fr", "sw")
REGIONS = {spec.language.value: (spec.locale, spec.time_zone, spec.currency) for spec in CUSTOMERS}
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{2}:\d{2}:\d{2}\b")
# Codes the service returns; Language and TicketPriority values are ordinary words ("en", "normal").
CODES = sorted({m.value for name, e in vars(enums).items() if isinstance(e, type) and issubclass(e, Enum)
                and e not in (enums.Language, enums.TicketPriority) for m in e})
# What the carrier and the glossary say in English, which must not reach French or Swahili text.
ENGLISH = sorted({label["en"] for group in ("milestone", "dispute_reason") for label in glossary()["labels"][group].values()}
                 | {"Seller shipped the parcel", "Arrived at sorting center", "Departed from country of origin",
                    "Arrived in destination country", "Customs clearance completed"})


def problems(text: str, lang: str) -> list[str]:
    found = []
    if ISO_DATE.search(text) or "UTC" in text:
        found.append("an ISO timestamp / UTC")
    if PLACEHOLDER.search(text) or "None" in text:
        found.append("an unfilled value")
    # glosses ("(dispute)") and the app's quoted button labels ("Awaiting seller confirmation") are English on purpose
    unglossed = QUOTED.sub("", text)
    for word in glossary()["glosses"].get(lang, []):
        unglossed = unglossed.replace(f"({word})", "")
    for code in CODES:
        if ("_" in code or lang != "en") and re.search(rf"(?<![\w/-]){re.escape(code)}(?![\w-])", unglossed):
            found.append(f"the raw code {code!r}")
    if lang != "en":
        found += [f"English {english!r}" for english in ENGLISH if english.casefold() in text.casefold()]
    found += [f"({word}) glossed twice" for word in gloss_repeats(text, lang)]
    return [f"{problem} in [{lang}] {text!r}" for problem in found]


def test_the_check_catches_what_the_issue_found():
    assert problems("Dernière mise à jour : Arrived in destination country (Dakar, 2026-12-04 13:19 UTC).", "fr")
    assert problems("Il y a un litige ouvert sur cette commande (not_received).", "fr")
    assert problems("Pesa zako 3010.00 KES ziko njiani, 2026-12-04.", "sw")
    assert problems("Kuna mgogoro (dispute) ... mgogoro (dispute).", "sw")
    assert not problems("Dernière étape : Dédouané, à Dakar (Sénégal), le vendredi 4 décembre à 13 h 19.", "fr")


# --- (1) every response, every language, realistic values --------------------------------------


def sample_values(lang: str) -> list[dict[str, Any]]:
    """Values as the actions write them for this language's demo customer, one set per milestone
    and dispute reason (so every label is rendered)."""
    locale, zone, currency = REGIONS[lang]
    loc = Localiser(lang, locale, zone)
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    base = {
        "order_id": "8170034500000007", "items": "2 × Stainless steel vacuum flask 1 L",
        "amount": loc.money(Decimal({"XOF": "15350", "KES": "3280", "GBP": "20.06"}[currency]), currency),
        "currency": currency, "seller": "Hangzhou Kitchen Pro Store", "tracking_number": "RR123456789CN",
        "carrier": "AliExpress Standard Shipping", "paid_date": loc.day(moment - timedelta(days=45)),
        "date": loc.day(moment + timedelta(days=10)), "expected_by": loc.day((moment + timedelta(days=9)).date()),
        "deadline": loc.when(moment + timedelta(hours=72)), "reopen_until": loc.when(moment + timedelta(days=12)),
        "decided_at": loc.when(moment - timedelta(hours=5)), "event_time": loc.when(moment - timedelta(days=5)),
        "event_location": loc.place("Dakar, SN"), "reference": "C-000013", "ticket_number": "T-000004",
        "agent_name": "Sam", "agent_text": {"en": "I am checking your parcel now.", "fr": "Je regarde votre colis.",
                                            "sw": "Ninaangalia kifurushi chako sasa."}[lang],
        "retry_in": loc.retry_in(900), "dispute_description": {
            "en": "The seams came apart after the first wash.", "fr": "Les coutures ont lâché au premier lavage.",
            "sw": "Mishono ilifumuka baada ya kufua mara ya kwanza."}[lang],
    }
    milestones = list(glossary()["labels"]["milestone"])
    reasons = list(glossary()["labels"]["dispute_reason"])
    return [{**base, "event": loc.label("milestone", m), "reason": loc.label("dispute_reason", r, inline=True)}
            for m, r in itertools.zip_longest(milestones, reasons, fillvalue=reasons[0])]


def test_every_response_in_every_language_reads_naturally():
    replies = Replies.load()
    found = []
    for lang in LANGUAGES:
        for values in sample_values(lang):
            for name in replies.names():
                found += problems(replies.render(name, lang, **values), lang)
    assert sorted(set(found)) == []


# --- (2) the skills on the demo database, every order, every language ---------------------------


@pytest.fixture()
def service(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/orders.db"
    migrate(url)
    made = session_factory(make_engine(url))
    seed(made)
    svc = OrderService(made)
    monkeypatch.setattr(orders, "_service", svc)
    return svc


def customer_ids(service: OrderService) -> dict[str, int]:
    return {o.number[:8]: service.verify_owner(order_number=o.number, contact=spec.email)
            for o in DEMO_ORDERS for spec in CUSTOMERS if o.customer == spec.name}


def tracker(lang: str, customer: int, slots: dict[str, Any] | None = None, form: str | None = None) -> Tracker:
    events = [{"event": "user", "text": "hi", "input_channel": "rest", "metadata": {}, "timestamp": 1.0}]
    if form:
        events.insert(0, {"event": "active_loop", "name": form, "timestamp": 0.5})
    verified = {"customer": customer, "at": time.time(), "channel": "rest", "sign_in": ""}  # by e-mail, just now
    return Tracker(f"render-{lang}", {"language": lang, "customer_id": verified, **(slots or {})},
                   {"intent": {"name": "inform"}}, events, False, None, {"name": form} if form else {}, "action_listen")


def turn(action: Any, track: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, track, {}))
    return dispatcher.messages


def read(replies: Replies, messages: list[dict[str, Any]], lang: str) -> str:
    """The turn as the user reads it: each response rendered with the values the action sent."""
    standard = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
    return "\n".join(replies.render(m["response"], lang, **{k: v for k, v in m.items() if k not in standard})
                     for m in messages if m.get("response"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_the_skills_say_about_every_demo_order(service, lang):
    replies = Replies.load()
    ids = customer_ids(service)
    found = []
    for demo in DEMO_ORDERS:  # every customer's orders, whatever language they write in
        customer = ids[demo.number[:8]]
        for action in (ActionOrderStatus(), ActionOrderNotReceived(), ActionRefundStatus()):
            text = read(replies, turn(action, tracker(lang, customer, {"order_id": demo.number})), lang)
            assert text, (demo.number, action.name())
            found += [f"{demo.number} {action.name()}: {p}" for p in problems(text, lang)]
    assert found == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_the_writes_say_in_every_language(service, lang):
    """Cancel, resume, open and withdraw a dispute, the 72 h follow-up: references, deadlines and
    amounts as the customer reads them."""
    replies = Replies.load()
    ids = customer_ids(service)
    prefix = {"en": "81700877", "fr": "81700345", "sw": "81700512"}[lang]
    customer = ids[prefix]

    def say(action: Any, scenario: str, form: str | None = None, **slots: Any) -> str:
        number = f"{prefix}000000{scenario}"
        messages = turn(action, tracker(lang, customer, {"order_id": number, "confirmed": True, **slots}, form))
        text = read(replies, messages, lang)
        assert problems(text, lang) == [], (scenario, action.name())
        return text

    cancelled = say(ActionCancelOrder(), "03", "cancel_form", cancel_reason="no_longer_needed")
    assert re.search(r"\bC-\d{6}\b", cancelled)  # a reference the buyer can quote
    say(ActionRestoreOrder(), "10", "restore_form")
    opened = say(ActionOpenDispute(), "07", "dispute_form", dispute_reason="not_received",
                 dispute_description="-", dispute_evidence="none")
    assert re.search(r"\bD-\d{6}\b", opened)
    say(ActionWithdrawDispute(), "13", "withdraw_form")
    follow = tracker(lang, customer)
    follow.latest_message = {"intent": {"name": "EXTERNAL_cancellation_deadline"},
                             "entities": [{"entity": "order_id", "value": f"{prefix}00000005"}]}
    approved = read(replies, turn(ActionCancellationFollowup(), follow), lang)
    currency = {"en": "£", "fr": "F\u202fCFA", "sw": "Ksh"}[lang]
    assert currency in approved and problems(approved, lang) == []


def test_a_customer_writing_in_another_language_keeps_their_clock_and_currency(service):
    """Amina (Dakar, F CFA) writes in English: English words and date order, her money, her time."""
    replies = Replies.load()
    amina = customer_ids(service)["81700345"]
    messages = turn(ActionOrderStatus(), tracker("en", amina, {"order_id": "8170034500000004"}))
    text = read(replies, messages, "en")
    assert "F\u202fCFA\u00a0" in text and "cancellation request" in text
    pending = service.get_order(order_number="8170034500000004", customer_id=amina).cancellation.deadline
    assert Localiser("en", "fr_SN", "Africa/Dakar").when(pending) in text  # Dakar's clock, English words
