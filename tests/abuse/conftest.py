"""Fixtures of the abuse tests (the stack shared with tests/reliability, a fresh action server so
the rate limiter starts empty, freshly seeded demo orders) and the per-category report printed at
the end of the run."""

from __future__ import annotations

import pytest

from tests.abuse import report
from tests.reliability.stack import release_shared_stack, restart, seed_orders, shared_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    stack = shared_stack(tmp_path_factory.mktemp("stack"))
    restart(stack["actions"], 120)
    seed_orders(stack.database_url)
    return stack


@pytest.fixture
def fresh_limits(stack):
    """A fresh action server: the rate limiter's counts start from zero."""
    restart(stack["actions"], 120)
    return stack


def pytest_terminal_summary(terminalreporter):
    lines = report.table()
    if lines:
        terminalreporter.write_sep("-", "abuse corpus: per-category counts")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    release_shared_stack()  # shared with tests/reliability, which may run before or after this package
