"""The SQL tracker store, without the event count query before each save, and with commits that do
not wait for the disk.

``SQLTrackerStore.save`` counts the conversation's stored events (a sub-select of the latest session
start, then a count) to know which events are new. The tracker a turn saves was loaded by this store
a moment before, under the conversation's lock, so that number is known: it is remembered on the
tracker at ``retrieve`` and after each ``save``, and the query only runs for a tracker this store did
not load (a new conversation, or one loaded elsewhere). Named in ``bot/endpoints.yml``
(``type: bot.tracker_store.RememberingSQLTrackerStore``), Rasa's supported way to change a store.

Statements: Rasa's store builds its queries anew on every call with the ORM (the legacy ``Query`` with
a sub-select), so SQLAlchemy computes a cache key for each and then maps every row to an object,
about a quarter of the server's time per turn. The same statements are built here once, with the
conversation id as a bound parameter, and run on the table: reading the latest session selects only
the ``data`` column, saving inserts the new events in one ``executemany``. Same rows, same order, same
columns (``tests/reliability/test_rasa_ext.py`` stores and reads conversations through both stores).

Commits: Rasa saves the conversation with a blocking database call inside the server's event loop,
so while one turn's commit waits for the disk to flush (an fsync) no other conversation moves.
SQLite connections are kept open (SQLAlchemy 1.4 opens and closes one per session for a SQLite
file, and closing the last one checkpoints the log to disk). SQLite gets a write-ahead log with
``synchronous=NORMAL`` (as the order database has), PostgreSQL ``synchronous_commit=off``: a commit returns once written, the flush
follows within a fraction of a second. A crash of the Rasa server loses nothing; a crash of the
machine (or of PostgreSQL) may lose the last fraction of a second of conversation events, never
corrupting a conversation. The order database keeps full durability: its writes are promises.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import bindparam, create_engine, event, func, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

_STORED = "_events_in_sql_store"


def commit_without_flush(engine: Engine) -> None:
    """Every new connection of ``engine`` commits without waiting for the disk (module docstring)."""

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            elif engine.dialect.name == "postgresql":
                cursor.execute("SET SESSION synchronous_commit TO OFF")
                dbapi_connection.commit()
        finally:
            cursor.close()


class RememberingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine.dispose()  # the connections that created the tables: new ones get the settings below
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine = create_engine(self.engine.url, poolclass=QueuePool,
                                        connect_args={"check_same_thread": False})
            self.sessionmaker = sessionmaker(bind=self.engine)
        commit_without_flush(self.engine)
        self._build_statements()

    def _build_statements(self) -> None:
        """Rasa's latest-session query (``SQLTrackerStore._event_query``), built once."""
        table = self.SQLEvent.__table__
        sender = table.c.sender_id == bindparam("sender_id")
        session_start = (
            select(func.max(table.c.timestamp))
            .where(sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        latest = (sender, or_(table.c.timestamp >= session_start, session_start.is_(None)))
        self._latest_session = select(table.c.data).where(*latest).order_by(table.c.id)
        self._count_latest_session = select(func.count()).select_from(table).where(*latest)
        self._insert = insert(table)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = session.execute(self._latest_session, {"sender_id": sender_id}).scalars().all()
        if not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in rows], self.domain.slots)

    async def retrieve(self, sender_id: str) -> Any:
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, (self, len(tracker.events)))
        return tracker

    def _additional_events(self, session: Any, tracker: Any) -> Iterator[Any]:
        known = getattr(tracker, _STORED, None)
        if known is None or known[0] is not self or known[1] > len(tracker.events):
            stored = session.execute(self._count_latest_session, {"sender_id": tracker.sender_id}).scalar()
        else:
            stored = known[1]
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self, tracker: Any) -> None:
        """``SQLTrackerStore.save``: the same rows, inserted in one statement."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for stored_event in self._additional_events(session, tracker):
                data = stored_event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": stored_event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": (data.get("parse_data", {}).get("intent", {}) or {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self._insert, rows)
            session.commit()
        setattr(tracker, _STORED, (self, len(tracker.events)))
