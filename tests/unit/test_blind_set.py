"""The blind NLU set is frozen: it measures generalisation only while nobody edits it."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from tests.conftest import ROOT

BLIND = ROOT / "tests" / "nlu" / "blind"
BLIND2 = ROOT / "tests" / "nlu" / "blind2"


@pytest.mark.parametrize("folder", [BLIND, BLIND2, ROOT / "tests" / "conversations" / "fresh"],
                         ids=["blind", "blind2", "fresh conversations"])
def test_blind_set_files_are_unchanged(folder):
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, path = line.split()
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, f"{path} was edited"


def test_blind_set_is_disjoint_from_training_data():
    training = set()
    for path in (ROOT / "data" / "nlu").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                training.add(line.strip().lstrip("- ").strip().casefold())
    # Short everyday messages ("yes", "bye", "human please") that the training data already had when the
    # set was frozen are coincidences, recorded then; anything else found in data/nlu was copied.
    coincidences = json.loads((BLIND / "coincidences.json").read_text())
    for lang in ("en", "fr", "sw"):
        messages = yaml.safe_load((BLIND / f"{lang}.yml").read_text())["messages"]
        assert len(messages) >= 150
        copied = [m["text"] for m in messages if m["text"].strip().casefold() in training
                  and m["text"].strip().casefold() not in coincidences[lang]]
        assert not copied, f"blind {lang} messages copied into data/nlu: {copied[:5]}"


def test_held_out_split_is_disjoint_from_training_data():
    # The held-out split (tests/nlu/<lang>) measures the data's own style only while none of it is
    # trained on: folded for accents, case and punctuation, as tests/benchmarks/check_leak.py compares.
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import check_leak

    held_out = check_leak.heldout_sentences()
    copied = [text for _, text in check_leak.ours([]) if check_leak.norm(text) in held_out]
    assert not copied, f"held-out messages in data/nlu: {copied[:5]}"


@pytest.mark.parametrize("folder", ["dev", "dev3", "dev4", "blind2"])
def test_set_is_disjoint_from_training_data(folder):
    # tests/nlu/dev, dev3 and dev4 guide decisions and may be read message by message, never copied; the second
    # blind set is never read. Compared folded for accents, case and punctuation
    # (tests/benchmarks/check_leak.py); the messages the training data already had when a set was
    # written (short everyday ones) are recorded beside it.
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import check_leak

    directory = ROOT / "tests" / "nlu" / folder
    training = {check_leak.norm(text) for _, text in check_leak.ours([])}
    coincidences = json.loads((directory / "coincidences.json").read_text())
    for lang in ("en", "fr", "sw"):
        messages = yaml.safe_load((directory / f"{lang}.yml").read_text())["messages"]
        assert len(messages) >= 150
        copied = [m["text"] for m in messages if check_leak.norm(m["text"]) in training
                  and check_leak.norm(m["text"]) not in coincidences[lang]]
        assert not copied, f"{folder} {lang} messages copied into data/nlu: {copied[:5]}"


def test_first_messages_are_disjoint_from_training_data():
    # tests/nlu/openings guides decisions between a request and a question about the rules; read,
    # never copied (same comparison as above; the short everyday messages the training data already
    # had when the set was written are recorded beside it).
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import check_leak

    directory = ROOT / "tests" / "nlu" / "openings"
    training = {check_leak.norm(text) for _, text in check_leak.ours([])}
    coincidences = json.loads((directory / "coincidences.json").read_text())
    for lang in ("en", "fr", "sw"):
        keys = yaml.safe_load((directory / f"{lang}.yml").read_text())
        messages = [text for texts in keys.values() for text in texts]
        assert len(messages) >= 90
        copied = [text for text in messages if check_leak.norm(text) in training
                  and check_leak.norm(text) not in coincidences[lang]]
        assert not copied, f"openings {lang} messages copied into data/nlu: {copied[:5]}"
