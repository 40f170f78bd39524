"""Event classes are looked up by type name once, not by walking every Event subclass each time.

Why not a supported point: ``Event.resolve_by_type`` is what Rasa calls to deserialise every event
(tracker loads, action responses); it searches all subclasses of ``Event`` on each call, so a tracker's
cost grows with its length at every turn. Nothing outside Rasa's event module decides this.

What changes: a name -> class cache in front of Rasa's lookup; names it does not know still go
through Rasa's own lookup (and its error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def install() -> Callable[[], None]:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"]
    lookup = Event.resolve_by_type
    known: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is None:
            found = lookup(type_name, default)
            if found is not None and found is not default:
                known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)

    def undo() -> None:
        Event.resolve_by_type = original

    return undo
