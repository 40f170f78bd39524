"""Changes to Rasa 3.6.21 internals, for what Rasa offers no supported extension point.

The last resort of the project's extension policy (README, "Rasa extensions"): each module here
replaces one private piece of Rasa, says why no component, policy, channel, store or endpoint can do
it, and has a test that shows the same decisions with it on and off (``tests/reliability/test_rasa_ext.py``).
Nothing is installed by importing ``bot``: the Rasa server's entry point (``python -m bot.rasa_ext``,
started by the launcher, ``make shell`` and the test harness) calls :func:`install`, which

* refuses to patch any other Rasa version than the one the extensions were written against,
* honours ``RASA_EXTENSIONS``: ``on`` (default), ``off``, or a comma list of extension names,
* logs which extensions are on.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
# name -> module; each module has install() -> undo() and a docstring with the why and the gain.
EXTENSIONS = {
    "action_failures": "bot.rasa_ext.action_failures",
    "response_check": "bot.rasa_ext.response_check",
    "event_types": "bot.rasa_ext.event_types",
    "action_domain": "bot.rasa_ext.action_domain",
    "slot_mappings": "bot.rasa_ext.slot_mappings",
    "action_connections": "bot.rasa_ext.action_connections",
}
_installed: dict[str, Callable[[], None]] = {}


def wanted(setting: str | None = None) -> list[str]:
    """The extensions ``RASA_EXTENSIONS`` asks for (unknown names are an error, not ignored)."""
    value = (os.environ.get("RASA_EXTENSIONS", "on") if setting is None else setting).strip().lower()
    if value in ("", "on", "all", "true", "1"):
        return list(EXTENSIONS)
    if value in ("off", "none", "false", "0"):
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXTENSIONS]
    if unknown:
        raise ValueError(f"RASA_EXTENSIONS: unknown extension(s) {unknown}; known: {sorted(EXTENSIONS)}")
    return names


def install(names: list[str] | None = None) -> list[str]:
    """Installs the wanted extensions once per process; returns the names now installed."""
    import rasa

    names = wanted() if names is None else names
    if names and rasa.__version__ != RASA_VERSION:
        raise RuntimeError(f"bot.rasa_ext was written for Rasa {RASA_VERSION}, this is {rasa.__version__}: "
                           "re-check every extension against the new version (README) or set RASA_EXTENSIONS=off")
    for name in names:
        if name not in _installed:
            _installed[name] = importlib.import_module(EXTENSIONS[name]).install()
    logger.info("Rasa %s extensions on: %s", rasa.__version__, ", ".join(sorted(_installed)) or "none")
    return sorted(_installed)


def uninstall(names: list[str] | None = None) -> None:
    """Puts Rasa back as it was (tests compare decisions with an extension on and off)."""
    for name in list(names if names is not None else _installed):
        undo = _installed.pop(name, None)
        if undo is not None:
            undo()


def installed() -> list[str]:
    return sorted(_installed)
