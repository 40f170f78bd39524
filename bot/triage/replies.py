"""Suggested replies: the bot's own domain responses, in the message's language.

Each response in ``bot/domain`` has an English variation without condition and French / Swahili
variations conditioned on the ``language`` slot; :class:`Replies` picks the variation the bot
would pick for that slot value and fills its placeholders. A placeholder left unfilled is a bug
(:class:`MissingVariable`), never text sent to a customer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def _language_of(variation: Mapping[str, Any]) -> str | None:
    """The ``language`` slot value a variation is conditioned on ("" when unconditioned)."""
    conditions = variation.get("condition") or []
    if not conditions:
        return ""
    values = [c.get("value") for c in conditions if c.get("type") == "slot" and c.get("name") == "language"]
    # A variation with any other condition is not a plain language variation: never picked.
    return values[0] if len(values) == len(conditions) == 1 else None


class Replies:
    """Renders domain responses by name and language."""

    def __init__(self, responses: Mapping[str, list[dict[str, Any]]]) -> None:
        self._texts: dict[str, dict[str, str]] = {}
        for name, variations in responses.items():
            by_language: dict[str, str] = {}
            for variation in variations:
                language = _language_of(variation)
                text = variation.get("text")
                if language is not None and text and language not in by_language:
                    by_language[language] = text
            if by_language:
                self._texts[name] = by_language

    @classmethod
    def from_domain(cls, domain: Any) -> Replies:
        return cls(domain.responses)

    @classmethod
    def load(cls, path: Path | str = DOMAIN_PATH) -> Replies:
        return cls.from_domain(load_domain(str(path)))

    def __contains__(self, name: str) -> bool:
        return name in self._texts

    def template(self, name: str, language: str) -> str:
        variations = self._texts[name]
        return variations.get(language) or variations.get("") or next(iter(variations.values()))

    def render(self, name: str, language: str, **values: Any) -> str:
        """The response text with every ``{placeholder}`` filled (values are str()-ed)."""
        template = self.template(name, language)
        missing = sorted({m for m in PLACEHOLDER.findall(template) if values.get(m) is None})
        if missing:
            raise MissingVariable(f"{name} needs {', '.join(missing)}")
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)

    def render_all(self, messages: list[tuple[str, dict[str, Any]]], language: str) -> str:
        """Several responses (what one bot turn says), one per line."""
        return "\n".join(self.render(name, language, **values) for name, values in messages)
