"""Limits shared by the channels people type into (REST, socket.io): message length and settings."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_MAX_MESSAGE_CHARS = 2_000

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_message(text: str, max_chars: int) -> str:
    """The text cut at ``max_chars``, without lone UTF-16 surrogates (JSON can carry "\\ud800", which
    no tokenizer accepts: Rasa would drop the message and answer nothing)."""
    return _SURROGATE.sub("", text[:max_chars])


def int_setting(value: Any, default: int) -> int:
    """A numeric channel setting from credentials.yml (a string after ${VAR} expansion), or ``default``."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
