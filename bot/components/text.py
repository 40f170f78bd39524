"""Text normalisation shared by the custom NLU components.

Users write without accents, in mixed case and with SMS spelling; folding accents and case lets
"annulée", "annulee" and "ANNULEE" share features.
"""

from __future__ import annotations

import re
import unicodedata

# Letters only (any script); digits, e-mails and punctuation carry no language signal.
WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
# Only tried at the start of a whitespace-separated word, so that a 100 KB "word" is scanned once
# (an unanchored \S+@\S+ retries from every character: quadratic).
URL_OR_EMAIL_RE = re.compile(r"(?<!\S)(?:\S*@\S+|https?://\S+)")
ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def fold(text: str) -> str:
    """Lower-case, strip accents and zero-width/bidi control characters."""
    text = ZERO_WIDTH_RE.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded alphabetic words of ``text`` (e-mail addresses and URLs removed)."""
    text = URL_OR_EMAIL_RE.sub(" ", text)
    return WORD_RE.findall(fold(text))
