"""The README's curl lines work as written: one conversation per language through the REST channel.

The curl commands are read from the README block between the ``rest-demo`` markers and run with
curl itself, only pointed at the test servers' port, so the README can never drift from reality.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.needs_servers

README_BASE = "http://127.0.0.1:5005"


def readme_curl_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- rest-demo:start -->", 1)[1].split("<!-- rest-demo:end -->", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("curl ")]


def run_curl(line: str, base: str) -> list[dict]:
    result = subprocess.run(
        shlex.split(line.replace(README_BASE, base)), capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_readme_has_two_turns_per_language():
    senders = [json.loads(shlex.split(line)[-1])["sender"] for line in readme_curl_lines()]
    assert len(senders) == 6 and len(set(senders)) == 3


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", [r"e-mail address or phone number", r"8170087700000006 .*has been shipped.*tracking number"]),
        ("fr", [r"adresse e-mail ou le numéro de téléphone", r"8170034500000006 .*expédiée.*numéro de suivi"]),
        ("sw", [r"barua pepe.*namba ya simu", r"8170051200000006 .*imeshatumwa.*namba ya ufuatiliaji"]),
    ],
)
def test_readme_curl_conversation(servers, language, expected):
    lines = readme_curl_lines()
    senders = {"en": "london-demo", "fr": "dakar-demo", "sw": "nairobi-demo"}
    turns = [line for line in lines if f'"sender": "{senders[language]}"' in line]
    assert len(turns) == 2
    for line, pattern in zip(turns, expected, strict=True):
        replies = run_curl(line, servers.base)
        text = " ".join(r.get("text", "") for r in replies)
        assert re.search(pattern, text, re.S | re.I), text


def test_parse_result_carries_language(servers):
    for text, lang in [("where is my parcel?", "en"), ("ou est mon colis svp", "fr"), ("mzigo wangu uko wapi", "sw")]:
        status, parsed = servers.post("/model/parse", {"text": text}, token=True)
        assert status == 200
        assert parsed["language"] == lang, parsed


def test_http_api_refuses_without_token(servers):
    status, _ = servers.post("/model/parse", {"text": "hello"}, token=False)
    assert status == 401
