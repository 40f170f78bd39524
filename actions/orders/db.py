"""Database settings, engines and sessions.

``DATABASE_URL`` (environment or the repo's ``.env``) selects the database; the default is a
SQLite file ``<repo>/var/orders.db`` (relative SQLite paths are taken from the repo root).
Both SQLite and PostgreSQL are supported.

SQLite specifics: WAL journal, ``busy_timeout``, foreign keys on, and transactions that write
start with ``BEGIN IMMEDIATE`` (see :data:`WRITE_OPTIONS`) so concurrent writers queue on the
database lock instead of failing when they upgrade a read lock. Connections are pooled (SQLAlchemy
1.4 opens and closes one per session for a SQLite file: the settings above, and the checkpoint
when the last one closes, were most of the action server's database time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]  # <repo>/actions/orders -> <repo>
VAR_DIR = REPO_ROOT / "var"
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Execution option read by the SQLite "begin" hook; harmless on other backends.
SQLITE_BEGIN_OPTION = "orders_sqlite_begin"
WRITE_OPTIONS: dict[str, Any] = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}

SessionFactory = Callable[[], Session]


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'orders.db'}"


def database_url() -> str:
    """``DATABASE_URL`` from the environment (or ``<repo>/.env``), else the SQLite default."""
    load_dotenv(REPO_ROOT / ".env", override=False)
    return resolve_url(os.environ.get("DATABASE_URL") or default_database_url())


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def resolve_url(url: str) -> str:
    """A relative SQLite path (``sqlite:///var/orders.db``) is taken from the repo root, so the
    database is the same whatever the working directory of the process using it."""
    path = _sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    return make_url(url).set(database=str(REPO_ROOT / path)).render_as_string(hide_password=False)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (the "begin" hook below) emit BEGIN instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """A future-mode engine with the per-backend settings described in the module docstring."""
    url = resolve_url(url) if url else database_url()
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if path is not None:
            kwargs.setdefault("poolclass", QueuePool)
        engine = create_engine(url, future=True, connect_args=connect_args, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, future=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)
