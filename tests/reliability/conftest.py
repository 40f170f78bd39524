"""Fixtures of the fault tests: a private Redis; the shared stack (action server + Rasa server, SQLite) with a fresh
action server (so the in-process rate limiter starts empty) and freshly seeded demo orders."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

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
    binary = shutil.which("redis-server")
    if binary is None:
        require("Redis", "no redis-server on the PATH")
    import redis

    port, workdir = free_port(), tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def pytest_sessionfinish(session, exitstatus):
    release_shared_stack()  # shared with tests/abuse, which may run before or after this package
