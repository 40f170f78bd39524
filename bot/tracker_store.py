"""The SQL tracker store, without the event count query before each save.

``SQLTrackerStore.save`` counts the conversation's stored events (a sub-select of the latest session
start, then a count) to know which events are new. The tracker a turn saves was loaded by this store
a moment before, under the conversation's lock, so that number is known: it is remembered on the
tracker at ``retrieve`` and after each ``save``, and the query only runs for a tracker this store did
not load (a new conversation, or one loaded elsewhere). Named in ``bot/endpoints.yml``
(``type: bot.tracker_store.RememberingSQLTrackerStore``), Rasa's supported way to change a store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

_STORED = "_events_in_sql_store"


class RememberingSQLTrackerStore(SQLTrackerStore):
    async def retrieve(self, sender_id: str) -> Any:
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, (self, len(tracker.events)))
        return tracker

    def _additional_events(self, session: Any, tracker: Any) -> Iterator[Any]:
        known = getattr(tracker, _STORED, None)
        if known is None or known[0] is not self or known[1] > len(tracker.events):
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, known[1], len(tracker.events))

    async def save(self, tracker: Any) -> None:
        await super().save(tracker)
        setattr(tracker, _STORED, (self, len(tracker.events)))
