"""Guessing order numbers (or contacts) is slowed down by the rate limiter (actions/skills/ratelimit.py).

* 1,000 order numbers tried from one sender with one contact, against the action server's form
  validation (the call Rasa makes for every answer): after ``VERIFY_MAX_FAILURES`` (5) failures
  every further attempt is refused before the database is asked, existing (others') orders and
  unknown ones answer alike;
* many senders against one contact, and many contacts against one order: refused the same way;
* end to end through REST, in the three languages: an attacker who restarts the conversation
  after each hand-over still gets at most 5 verifications, then a polite refusal in their language.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.abuse import report
from tests.abuse.corpus import FRAME
from tests.reliability.helpers import LANGUAGES, languages, responses

pytestmark = pytest.mark.needs_servers

MAX_FAILURES = 5  # VERIFY_MAX_FAILURES default
ATTEMPTS = 15  # per language through REST
DOMAIN = {"forms": {"status_form": {"required_slots": ["order_id", "contact"]}}, "slots": {}}
EXISTING = [f"81700{c}000000{n:02d}" for c in ("345", "512") for n in range(1, 20)]  # Amina's and Wanjiku's


def numbers(count: int) -> list[str]:
    """Plausible order numbers: others' existing orders interleaved with numbers that do not exist."""
    found = []
    for i in range(count):
        found.append(EXISTING[i // 2 % len(EXISTING)] if i % 2 == 0 else f"8170{990000000000 + i:012d}")
    return found


def validate(stack, sender: str, order: str, contact: str) -> dict:
    """The request Rasa sends to validate the answer to "which e-mail or phone?" of the status form."""
    tracker = {
        "sender_id": sender, "latest_input_channel": "rest", "paused": False, "followup_action": None,
        "active_loop": {"name": "status_form"}, "latest_action_name": "action_listen",
        "slots": {"order_id": order, "contact": contact, "requested_slot": "contact", "language": "en",
                  "customer_id": None, "task_blocked": None, "form_failures": 0},
        "latest_message": {"text": contact, "intent": {"name": "inform"}, "entities": []},
        "events": [{"event": "action", "name": "action_listen"},
                   {"event": "user", "text": contact, "input_channel": "rest",
                    "parse_data": {"intent": {"name": "inform"}, "entities": []}},
                   {"event": "slot", "name": "contact", "value": contact}],
    }
    body = json.dumps({"next_action": "validate_status_form", "sender_id": sender, "tracker": tracker,
                       "domain": DOMAIN, "version": "3.6.21"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{stack['actions'].port}/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def outcome(result: dict) -> str:
    said = [r.get("response") for r in result["responses"]]
    if "utter_rate_limited" in said:
        return "refused"
    return "not_found" if "utter_order_not_found" in said else "other:" + ",".join(map(str, said))


@pytest.mark.timeout(240)
def test_one_sender_enumerating_1000_order_numbers(fresh_limits):
    stack, sender = fresh_limits, f"enum-{uuid.uuid4().hex[:8]}"
    tried = numbers(1000)
    with ThreadPoolExecutor(4) as pool:  # in order for the first attempts, so the count is exact
        first = [validate(stack, sender, n, "oliver.smith@example.co.uk") for n in tried[:MAX_FAILURES + 1]]
        rest = list(pool.map(lambda n: validate(stack, sender, n, "oliver.smith@example.co.uk"), tried[MAX_FAILURES + 1:]))
    outcomes = Counter(outcome(r) for r in first + rest)
    report.add("enumeration_1000", inputs=1000, requests=1000, **{"2xx": 1000},
               verifications=outcomes["not_found"], rate_limited=outcomes["refused"])
    assert outcomes == {"not_found": MAX_FAILURES, "refused": 1000 - MAX_FAILURES}, outcomes
    # Existing orders of other customers and unknown numbers got exactly the same answer.
    answers = {json.dumps(r["responses"], sort_keys=True) for r in first[:MAX_FAILURES]}
    assert len(answers) == 1, answers
    assert [outcome(r) for r in first] == ["not_found"] * MAX_FAILURES + ["refused"]


@pytest.mark.timeout(240)
def test_many_senders_one_contact_and_many_contacts_one_order(fresh_limits):
    stack = fresh_limits
    run = uuid.uuid4().hex[:8]
    by_contact = [outcome(validate(stack, f"enum-c-{run}-{i}", n, "+44 7700 900123"))
                  for i, n in enumerate(numbers(60))]
    by_order = [outcome(validate(stack, f"enum-o-{run}-{i}", "8170087700000006", f"guess{i}@example.com"))
                for i in range(60)]
    report.add("enumeration_distributed", inputs=120, requests=120, **{"2xx": 120},
               verifications=by_contact.count("not_found") + by_order.count("not_found"),
               rate_limited=by_contact.count("refused") + by_order.count("refused"))
    assert by_contact == ["not_found"] * MAX_FAILURES + ["refused"] * (60 - MAX_FAILURES)
    assert by_order == ["not_found"] * MAX_FAILURES + ["refused"] * (60 - MAX_FAILURES)


@pytest.mark.timeout(300)
def test_rest_enumeration_in_three_languages(fresh_limits):
    stack, run = fresh_limits, uuid.uuid4().hex[:8]
    restart = {"en": "/restart", "fr": "/restart", "sw": "/restart"}
    contact = {"en": "attacker.en@example.com", "fr": "attaquant.fr@example.com", "sw": "mshambulizi.sw@example.com"}

    def attack(lang: str) -> Counter:
        sender, seen = f"enum-rest-{lang}-{run}", Counter()
        for number in numbers(ATTEMPTS):
            replies = stack.say(sender, FRAME[lang].format(number))
            if "utter_ask_contact" in responses(replies):
                replies = stack.say(sender, contact[lang])
            said = responses(replies)
            assert languages(replies) <= {lang}, (lang, replies)
            assert not any(r.startswith(("utter_status_", "utter_verified")) for r in said), replies
            if "utter_rate_limited" in said:
                assert languages(replies) == {lang}, replies
                seen["refused"] += 1
            elif "utter_order_not_found" in said:
                seen["not_found"] += 1
            if "utter_handoff" in said or not replies:  # handed over after 3 failures: start again
                stack.say(sender, restart[lang])
                seen["restarts"] += 1
        return seen

    with ThreadPoolExecutor(3) as pool:
        results = dict(zip(LANGUAGES, pool.map(attack, LANGUAGES), strict=True))
    for lang, seen in results.items():
        report.add(f"enumeration_rest_{lang}", inputs=ATTEMPTS, verifications=seen["not_found"],
                   rate_limited=seen["refused"])
        assert seen["not_found"] == MAX_FAILURES, (lang, seen)
        assert seen["refused"] >= ATTEMPTS - MAX_FAILURES - 1, (lang, seen)  # the turn after a restart may greet
