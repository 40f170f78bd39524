"""Shared test setup: repo root on sys.path, Rasa telemetry off, quiet TensorFlow."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import pytest  # noqa: E402

# Markers by need, from the fixtures a test uses (so nobody has to remember them): `make unit` runs
# what a fresh clone can run, without a model, servers or system services.
NEEDS = {
    "needs_servers": {"servers", "player", "stack", "seeded", "channel_servers", "fresh_limits"},
    "needs_model": {"servers", "player", "stack", "seeded", "channel_servers", "fresh_limits", "model_path",
                    "agent", "parser"},
    "needs_postgres": {"postgres_server"},
    "needs_redis": {"redis_port"},
    "needs_nginx": {"nginx"},
    "needs_chromium": {"browser"},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in NEEDS.items():
            if names & fixtures:
                item.add_marker(marker)
        if item.get_closest_marker("needs_servers"):
            item.add_marker("needs_model")


def require(what: str, problem: str) -> None:
    """A service a test needs is missing: a failure in CI (``CI`` set), a skip on a developer's machine
    (``make services`` installs it)."""
    message = f"{what} is missing: {problem} (`make services` installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def nginx() -> str:
    """Debian's nginx (the proxy of several Rasa workers, bot/cluster.py)."""
    from bot.cluster import NGINX

    if not os.access(NGINX, os.X_OK):
        require("nginx", f"no {NGINX}")
    return NGINX
