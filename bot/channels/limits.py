"""Limits shared by the channels people type into (REST, socket.io): message length, metadata, settings."""

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


# Metadata keys Rasa itself sets on the user events it makes (reminders, trigger_intent): a client
# must not be able to set them and pass a message off as one of those (actions.skills.context).
RESERVED_METADATA_KEYS = ("is_external",)


def client_metadata(metadata: Any) -> dict[str, Any] | None:
    """A client's message metadata without the keys only Rasa may set; None when it is not an object."""
    if not isinstance(metadata, dict):
        return None
    return {key: value for key, value in metadata.items() if key not in RESERVED_METADATA_KEYS}
