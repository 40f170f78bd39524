"""Fixtures of the triage tests: a temporary seeded order database (the demo data) and the
trained model, loaded once per test session."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import actions.orders as orders
from actions.orders.clock import utcnow
from actions.orders.db import make_engine, session_factory
from actions.orders.demo import seed
from actions.orders.schema import migrate
from actions.orders.service import OrderService

DATA = Path(__file__).resolve().parent / "data"
AMINA, WANJIKU, OLIVER = "81700345", "81700512", "81700877"


def order(prefix: str, scenario: int) -> str:
    return f"{prefix}000000{scenario:02d}"


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> str:
    """URL of a migrated, seeded SQLite database shared by the session (triage never writes)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('triage-db')}/orders.db"
    migrate(url)
    seed(session_factory(make_engine(url)))
    return url


@pytest.fixture(scope="session")
def factory(database):
    return session_factory(make_engine(database))


@pytest.fixture()
def service(factory, monkeypatch) -> OrderService:
    """The process-wide order service (``actions.orders.get_service()``) on the test database."""
    svc = OrderService(factory)
    monkeypatch.setattr(orders, "_service", svc)
    return svc


@pytest.fixture()
def later_service(factory, monkeypatch):
    """Same data, seen ``days`` later (the service clock moves; nothing is written)."""

    def make(days: float) -> OrderService:
        svc = OrderService(factory, clock=lambda: utcnow() + timedelta(days=days))
        monkeypatch.setattr(orders, "_service", svc)
        return svc

    return make


@pytest.fixture(scope="session")
def model_path() -> Path:
    from bot.triage.nlu import newest_model

    try:
        return newest_model()
    except FileNotFoundError as error:
        pytest.fail(f"{error} (make test trains it first)")


@pytest.fixture(scope="session")
def agent(model_path):
    """The trained model, loaded once: the CLI in-process and the channel tests share it
    (``bot.triage.nlu.load_agent`` caches by path)."""
    from bot.triage.nlu import load_agent

    return load_agent(str(model_path))


@pytest.fixture(scope="session")
def replies():
    from bot.triage.replies import Replies

    return Replies.load()
