"""Custom action calls carry the domain without its responses, built once per model.

Why not a supported point: ``RemoteAction._action_call_format`` rebuilds ``domain.as_dict()`` and
sends it whole with every call; the action server never reads the responses (it names them, Rasa
renders them), which in three languages are most of the payload. Rasa's selective-domain setting
only drops the domain for actions that do not ask for it, and every form validation needs it.

What changes: the dict sent is built once per domain object, without ``responses``; the rest of the
call (tracker, next action, version) is what Rasa sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_action_domain: dict[str, Any] = {}


def domain_for_actions(domain: Any) -> dict[str, Any]:
    """``domain.as_dict()`` without the responses, built once per domain object."""
    if _action_domain.get("source") is not domain:
        full = domain.as_dict()
        full.pop("responses", None)
        _action_domain.update(source=domain, sent=full)
    return _action_domain["sent"]


def install() -> Callable[[], None]:
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    original = RemoteAction._action_call_format

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker.current_state(EventVerbosity.ALL),
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain_for_actions(domain)
        return result

    RemoteAction._action_call_format = _action_call_format

    def undo() -> None:
        RemoteAction._action_call_format = original

    return undo
