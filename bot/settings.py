"""Settings: the environment, then ``.env``, then the committed defaults in ``.env.example``.

Every process (launcher, Rasa, action server, tests) sees the same values because the launcher
exports them before starting its children.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("RASA_AUTH_TOKEN", "AUTH_JWT_SECRET")


# Defaults that differ for the local demo (`make run` = `python -m bot.launcher --demo`): the web
# chat page's demo sign-in, which lets anyone who reaches the page sign in as a demo customer.
DEMO_DEFAULTS = {"WEBCHAT_DEMO_SIGN_IN": "true"}


def load(env_file: Path | None = None, demo: bool = False) -> dict[str, str]:
    """Resolves every setting into ``os.environ`` and returns them.

    Secrets left empty are generated for this run only, so nothing secret is ever committed or
    shared by default. ``demo``: the defaults of ``DEMO_DEFAULTS`` apply (the environment and
    ``.env`` still win).
    """
    defaults = {**dotenv_values(ROOT / ".env.example"), **(DEMO_DEFAULTS if demo else {})}
    local = dotenv_values(env_file or ROOT / ".env") if (env_file or ROOT / ".env").exists() else {}
    resolved: dict[str, str] = {}
    for key, default in defaults.items():
        value = os.environ.get(key) or local.get(key) or default or ""
        if not value and key in GENERATED:
            value = secrets.token_urlsafe(32)
        resolved[key] = value
        os.environ[key] = value
    for key, value in local.items():  # settings only in .env (e.g. channel tokens)
        if key not in resolved and value:
            os.environ.setdefault(key, value)
            resolved[key] = os.environ[key]
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return resolved
