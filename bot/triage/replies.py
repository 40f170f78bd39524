"""Suggested replies: the bot's own domain responses, in the message's language.

Each response in ``bot/domain`` has an English variation without condition and French / Swahili
variations conditioned on the ``language`` slot; :class:`Replies` asks Rasa's own response generator
for the variation the bot would pick for that slot value, filled as the bot fills it. A placeholder
left unfilled is a bug (:class:`MissingVariable`), never text sent to a customer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_PATH = ROOT / "bot" / "domain"
PLACEHOLDER = re.compile(r"\{([^\n{}]+?)\}")


class MissingVariable(KeyError):
    """A response needs a value nobody provided."""


@lru_cache(maxsize=4)
def load_domain(path: str = str(DOMAIN_PATH)) -> Any:
    from bot.triage.nlu import silenced

    with silenced():  # Rasa warns about slot auto-fill for every domain it loads
        from rasa.shared.core.domain import Domain

        return Domain.load(path)


class Replies:
    """Renders domain responses by name and language with Rasa's own response generator: the
    variation the bot picks for that ``language`` slot value, filled the way the bot fills it."""

    def __init__(self, domain: Any) -> None:
        from rasa.core.nlg import TemplatedNaturalLanguageGenerator

        self._responses = domain.responses
        self._nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        # What each response needs (its variations share their placeholders: tests/unit/test_domain.py).
        self._needs = {name: {p for v in variations for p in PLACEHOLDER.findall(v.get("text") or "")}
                       for name, variations in domain.responses.items()}

    @classmethod
    def from_domain(cls, domain: Any) -> Replies:
        return cls(domain)

    @classmethod
    def load(cls, path: Path | str = DOMAIN_PATH) -> Replies:
        return cls.from_domain(load_domain(str(path)))

    def __contains__(self, name: str) -> bool:
        return name in self._responses

    def names(self) -> list[str]:
        """Every response that has a text."""
        return [name for name, variations in self._responses.items() if any(v.get("text") for v in variations)]

    def render(self, name: str, language: str, **values: Any) -> str:
        """The response text with every ``{placeholder}`` filled (values are str()-ed)."""
        missing = sorted(p for p in self._needs.get(name, ()) if values.get(p) is None)
        if missing:
            raise MissingVariable(f"{name} needs {', '.join(missing)}")
        message = self._nlg.generate_from_slots(name, {"language": language}, "triage",
                                                **{k: str(v) for k, v in values.items()})
        if not message or not message.get("text"):
            raise KeyError(f"no text response {name!r}")
        return message["text"]

    def render_all(self, messages: list[tuple[str, dict[str, Any]]], language: str) -> str:
        """Several responses (what one bot turn says), one per line."""
        return "\n".join(self.render(name, language, **values) for name, values in messages)
