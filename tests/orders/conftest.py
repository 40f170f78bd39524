"""Fixtures of the order-service tests.

Service tests run on two backends: a temporary SQLite file and a real, throw-away PostgreSQL
server (``initdb`` + ``postgres`` in a temp dir, on a free localhost port, as the ``postgres`` OS
user when we are root: ``bot/cluster.py``). ``make services`` installs PostgreSQL; without it the PostgreSQL variants
fail in CI and are skipped elsewhere (``tests.conftest.require``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from orders_test_helpers import Clock
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from actions.orders.db import make_engine, session_factory
from actions.orders.models import metadata
from actions.orders.schema import migrate
from actions.orders.service import OrderService
from bot.cluster import Postgres, free_port, postgres_bindir, running
from tests.conftest import require

BACKEND_PARAMS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.needs_postgres),
)


# --- throw-away PostgreSQL ---------------------------------------------------------------


@dataclass
class PostgresServer:
    cluster: Postgres
    _counter: int = 0

    @property
    def port(self) -> int | None:
        return self.cluster.port

    def url(self, database: str) -> str:
        return self.cluster.url(database)

    def create_database(self, prefix: str) -> str:
        """A new empty database; returns its URL."""
        self._counter += 1
        return self.cluster.create_database(f"{prefix}_{self._counter}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private cluster started as ``make run`` starts its own with several workers (bot/cluster.py),
    on a free localhost port, without fsync, deleted afterwards."""
    if postgres_bindir() is None:
        require("PostgreSQL", "no /usr/lib/postgresql/*/bin/initdb")
    workdir = Path(tempfile.mkdtemp(prefix="orders-pg-"))
    server = Postgres(workdir, port=free_port(), throwaway=True)
    try:
        with running(server):
            yield PostgresServer(server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- databases and services ----------------------------------------------------------------


def new_database_url(backend: str, request: pytest.FixtureRequest, prefix: str) -> str:
    """An empty database of ``backend`` (not migrated)."""
    if backend == "sqlite":
        directory = request.getfixturevalue("tmp_path_factory").mktemp(prefix)
        return f"sqlite:///{directory / 'orders.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(prefix)


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(backend: str, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Factory of empty (not migrated) databases of the current backend."""
    return lambda prefix: new_database_url(backend, request, prefix)


@pytest.fixture(scope="session")
def engine(backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """One migrated database per backend, shared by the session (cleaned per test)."""
    url = new_database_url(backend, request, "orders")
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker:
    _wipe(engine)
    return session_factory(engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(sessions: sessionmaker, clock: Clock) -> OrderService:
    return OrderService(sessions, clock=clock)


@pytest.fixture
def demo(service: OrderService, sessions: sessionmaker, clock: Clock) -> OrderService:
    """The service over a freshly seeded demo database."""
    from actions.orders.demo import seed

    seed(sessions, clock.now)
    return service
