"""Fixtures of the order-service tests.

Service tests run on two backends: a temporary SQLite file and a real, throw-away PostgreSQL
server (``initdb`` + ``pg_ctl`` in a temp dir, on a free localhost port, as the ``postgres`` OS
user when we are root). ``make services`` installs PostgreSQL; without it the PostgreSQL variants
fail in CI and are skipped elsewhere (``tests.conftest.require``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
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
from tests.conftest import require

BACKEND_PARAMS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.needs_postgres),
)


# --- throw-away PostgreSQL ---------------------------------------------------------------


def _pg_bindir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parents[1].name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    port: int
    _counter: int = 0

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str) -> str:
        """A new empty database; returns its URL."""
        self._counter += 1
        name = f"{prefix}_{self._counter}"
        engine = make_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        require("PostgreSQL", "no /usr/lib/postgresql/*/bin/initdb")
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="orders-pg-"))
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []

    def run(*args: str) -> None:
        completed = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if completed.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{completed.stdout}\n{completed.stderr}")

    data = workdir / "data"
    port = _free_port()
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    pg_ctl = str(bindir / "pg_ctl")
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    run(pg_ctl, "-D", str(data), "-l", str(workdir / "server.log"), "-o", options, "-w", "-t", "60", "start")
    try:
        yield PostgresServer(port)
    finally:
        run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
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
