"""The effective channel credentials: the ``bot/credentials.yml`` template + the environment.

The template lists every channel with ``${VAR}`` placeholders (required settings) and
``${VAR:-default}`` placeholders (optional ones, the default may be empty). A channel whose
required settings are not all set is left out of the effective file, and a log line says which
settings would turn it on; nothing secret is ever logged. The effective file (``var/credentials.yml``
by default, ``CREDENTIALS_FILE`` to move it) is written atomically, readable by its owner only,
and holds plain values, so Rasa does no expansion of its own.

    python -m bot.channels.config            # prints which channels the environment enables
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "bot" / "credentials.yml"
DEFAULT_OUTPUT = ROOT / "var" / "credentials.yml"

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# Channels that need at least one of several optional settings (Twilio: an SMS number or a
# WhatsApp sender, or both).
AT_LEAST_ONE = {"bot.channels.twilio.TwilioInput": ("TWILIO_NUMBER", "TWILIO_WHATSAPP_NUMBER")}


class ChannelSettingsError(ValueError):
    """The template is malformed, or a value would be re-expanded by Rasa."""


def _expand(value: Any, environ: Mapping[str, str], missing: list[str], used: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, environ, missing, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, missing, used) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        used.add(name)
        current = (environ.get(name) or "").strip()
        if current:
            return current
        if default is None:
            missing.append(name)
            return ""
        return default

    expanded = PLACEHOLDER.sub(substitute, value)
    if "${" in expanded:
        raise ChannelSettingsError("a channel setting contains '${', which Rasa would try to expand")
    return expanded  # always a string: a secret such as "0123" or "yes" must not become a number


def effective_channels(
    environ: Mapping[str, str] | None = None, template: Path = TEMPLATE
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(channels that are on with their expanded settings, channels that are off -> missing settings)."""
    environ = os.environ if environ is None else environ
    loaded = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ChannelSettingsError(f"{template}: expected a mapping of channels")
    enabled: dict[str, Any] = {}
    disabled: dict[str, list[str]] = {}
    for channel, settings in loaded.items():
        missing: list[str] = []
        used: set[str] = set()
        expanded = _expand(settings, environ, missing, used)
        alternatives = AT_LEAST_ONE.get(channel, ())
        if alternatives and not any((environ.get(name) or "").strip() for name in alternatives):
            missing.append(" or ".join(alternatives))
        if missing:
            disabled[channel] = missing
        else:
            enabled[channel] = expanded
    return enabled, disabled


def short_name(channel: str) -> str:
    """``bot.channels.telegram.TelegramInput`` -> ``telegram``, ``bot.triage.channel.TriageInput`` -> ``triage``."""
    name = channel.rsplit(".", 1)[-1]
    return name[: -len("Input")].lower() if name.endswith("Input") and name != "Input" else name.lower()


def write_credentials(
    output: Path | None = None, environ: Mapping[str, str] | None = None, template: Path = TEMPLATE,
    log: Any = None,
) -> Path:
    """Writes the effective credentials file and logs which channels are on and off."""
    environ = os.environ if environ is None else environ
    output = Path(output or environ.get("CREDENTIALS_FILE") or DEFAULT_OUTPUT)
    if not output.is_absolute():
        output = ROOT / output
    enabled, disabled = effective_channels(environ, template)
    say = log or logger.info
    say("channels on: " + ", ".join(short_name(c) for c in enabled))
    for channel, missing in disabled.items():
        say(f"channel {short_name(channel)} off: set {', '.join(missing)} to turn it on")
    output.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by bot/channels/config.py from bot/credentials.yml and the environment. Do not edit.\n"
    text = header + yaml.safe_dump(enabled, sort_keys=False, allow_unicode=True, default_flow_style=False)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", suffix=".yml", dir=output.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def main() -> int:
    from bot import settings

    settings.load()
    enabled, disabled = effective_channels()
    for channel in enabled:
        print(f"on   {short_name(channel)}")
    for channel, missing in disabled.items():
        print(f"off  {short_name(channel)}: needs {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
