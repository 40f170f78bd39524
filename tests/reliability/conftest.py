"""Fixtures of the fault tests: a private Redis; the shared stack (action server + Rasa server, SQLite) with a fresh
action server (so the in-process rate limiter starts empty) and freshly seeded demo orders."""

from __future__ import annotations

import shutil

import pytest

from bot.cluster import Redis, running
from tests.conftest import require
from tests.reliability.stack import free_port, release_shared_stack, restart, seed_orders, shared_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    stack = shared_stack(tmp_path_factory.mktemp("stack"))
    restart(stack["actions"], 120)  # the abuse tests may have used the rate limiter's budget
    return stack


@pytest.fixture
def seeded(stack):
    """Demo orders as seeded (a cancellation test leaves a request behind)."""
    seed_orders(stack.database_url)
    return stack


@pytest.fixture(scope="package")
def redis_port(tmp_path_factory):
    """A private redis-server on a free port, started as ``make run`` starts its own (bot/cluster.py)."""
    if shutil.which("redis-server") is None:
        require("Redis", "no redis-server on the PATH")
    server = Redis(tmp_path_factory.mktemp("redis"), port=free_port())
    with running(server):
        yield server.port


def pytest_sessionfinish(session, exitstatus):
    release_shared_stack()  # shared with tests/abuse, which may run before or after this package
