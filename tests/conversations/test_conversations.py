"""Whole conversations through the real servers, in English, French and Swahili (see runner.py)."""

from __future__ import annotations

import pytest

from tests.conversations import coverage
from tests.conversations.runner import Conversation, Player, load

pytestmark = pytest.mark.needs_servers
CONVERSATIONS = load()


@pytest.fixture(autouse=True)
def _remember_player(request, player: Player) -> None:
    request.config._conversation_player = player


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.test_id for c in CONVERSATIONS])
def test_conversation(conversation: Conversation, player: Player, demo_orders: None) -> None:
    player.play(conversation)


def test_coverage(player: Player, request) -> None:
    """Runs last (file order): every action, reason code and form question is reached in every
    language, and at least 95 % of the responses."""
    played = {c.name for c in CONVERSATIONS}
    if any(player.seen[lang]["conversations"] != {c.test_id for c in CONVERSATIONS if c.lang == lang}
           for lang in ("en", "fr", "sw")):
        failed = request.session.testsfailed
        pytest.fail(f"coverage is measured on the whole suite: {failed} conversation(s) failed or were not run"
                    f" ({len(played)} defined)")
    rows = coverage.table(player.seen)
    short = [row for row in rows if row.share < coverage.TARGETS[row.kind]]
    assert not short, "\n" + coverage.render(short)
