"""The trained NLU model, without a conversation.

``parse_batch`` runs the model's NLU graph on many messages at once (the same graph and output as
``Agent.parse_message``, 3-4 times faster per message because the classifiers work on a batch);
the HTTP channel parses through the server's own agent one message at a time.

Texts are prepared first (``prepare_text``): quoted e-mail history and reply headers are cut
(the customer's new words are what counts), and a leading ``/`` is removed so a message can
never be read as a Rasa intent payload such as ``/cancel_order``.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MAX_PARSE_CHARS = 2_000
# Where the quoted part of a reply starts: "On Mon, 3 Jun 2024 ... wrote:", "Le ... a écrit :",
# "-----Original Message-----". (Not "From: ...": contact forms put the sender there.)
_REPLY_HEADER = re.compile(
    r"^\s*(?:On\b.{0,200}\bwrote:|Le\b.{0,200}\ba [ée]crit\s?:|-{2,}\s*(?:Original Message|Message d'origine"
    r"|Forwarded message|Message transf[ée]r[ée])\s*-{2,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^\s*>.*$\n?", re.MULTILINE)


def prepare_text(text: str) -> str:
    """What the NLU reads: the new part of the message, without a payload prefix, capped."""
    header = _REPLY_HEADER.search(text)
    if header and header.start() > 0:
        text = text[: header.start()]
    without_quotes = _QUOTED_LINE.sub("", text)
    text = without_quotes if without_quotes.strip() else text
    text = text.strip()
    while text.startswith("/"):
        text = text[1:].lstrip()
    return text[:MAX_PARSE_CHARS] or "."


def newest_model() -> Path:
    """The model of this checkout (``bot/model_hash.py``); the name is kept for the triage CLI."""
    from bot.model_hash import current_model

    return current_model()


@contextmanager
def silenced() -> Iterator[None]:
    """No library warning printed meanwhile (importing TensorFlow / Rasa / matplotlib and
    loading a model emit dozens of deprecation notices; some libraries reset the filters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.showwarning = lambda *args, **kwargs: None
        yield


def quiet_warnings() -> None:
    """Library deprecation noise (TensorFlow, pyparsing, click, Rasa's slot auto-fill notice)."""
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=".*Slot auto-fill has been removed")
    warnings.filterwarnings("ignore", message=".*declare_namespace")


def quiet_rasa(level: int = logging.WARNING) -> None:
    """Rasa logs every parse at debug level through structlog: keep stdout for our results."""
    import structlog

    quiet_warnings()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    for name in ("rasa", "tensorflow", "absl", "matplotlib", "sqlalchemy", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


@lru_cache(maxsize=2)
def load_agent(model_path: str) -> Any:
    """The model, loaded once per process and path (``Agent.load`` takes ~10 s)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the model's custom components live in bot.components
    with silenced():
        from rasa.core.agent import Agent

        return Agent.load(model_path)


def _full_retrieval_intent(parse: dict[str, Any]) -> None:
    """Same as Rasa's processor: ``faq`` gets ``full_retrieval_intent_name`` ("faq/<topic>")."""
    intent = parse.get("intent") or {}
    selector = parse.get("response_selector") or {}
    name = intent.get("name")
    if name and name in selector.get("all_retrieval_intents", []):
        key = (selector.get(name) or {}).get("response", {}).get("intent_response_key")
        if key:
            intent["full_retrieval_intent_name"] = key


def parse_batch(agent: Any, texts: list[str]) -> list[dict[str, Any]]:
    """Parse results (as ``Agent.parse_message`` returns them) for prepared texts, in order."""
    if not texts:
        return []
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = agent.processor
    if processor is None:
        raise RuntimeError("the agent has no model loaded")
    target = processor.model_metadata.nlu_target
    results = processor.graph_runner.run(
        inputs={
            PLACEHOLDER_MESSAGE: [UserMessage(text) for text in texts],
            # No conversation: no language slot to fall back on, so no carried-over language.
            PLACEHOLDER_TRACKER: DialogueStateTracker.from_events("triage", []),
        },
        targets=[target],
    )
    parsed = []
    for message in results[target]:
        data: dict[str, Any] = {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": []}
        data.update(message.as_dict(only_output_properties=True))
        _full_retrieval_intent(data)
        parsed.append(data)
    return parsed


async def parse_one(agent: Any, text: str) -> dict[str, Any]:
    """One prepared text through the agent's own ``parse_message`` (the HTTP channel)."""
    return await agent.parse_message(text)
