"""A custom action that cannot run gets a clear answer instead of silence.

Why not a supported point: the failure happens inside ``RemoteAction.run``; Rasa catches it in the
message processor, logs it and goes on predicting without any event, so no policy, rule, channel or
response ever sees it (inside a form it predicts ``action_listen``: the user gets nothing at all, and a
"yes" typed meanwhile stays in ``confirmed``, ready to be reused by the next form run unasked).

What changes, for failures of the action server only (the connection failed, it answered 5xx, or it
timed out): the user gets ``utter_service_unavailable`` in the language of their message, once per
message, and the slots a form validation could not check and ``confirmed`` are cleared (the form asks
again once the server is back). A call that failed at the connection (refused, or a connection the
server was closing just after a restart) is retried once after ``RETRY_DELAY_S`` first: every write is
idempotent, so a call that did reach the server is not filed twice.

When the custom ``action_session_start`` (it keeps a conversation an agent has paused across session
expiry) cannot run, Rasa's own session start runs instead, with the pause kept, rather than the
answer above (:func:`bot.handoff.pause.session_start_events`).

Unchanged: a 400 (``ActionExecutionRejection``, the form rejects the message), a 404 or any other
4xx (an action that is not registered is a deployment error and stays loud: Rasa logs it), failures
of custom slot mappings and of reminder (``EXTERNAL_*``) turns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

RESPONSE = "utter_service_unavailable"
SESSION_START = "action_session_start"
LANGUAGE_SLOT = "language"
RESET_ON_FAILURE = ("confirmed",)
RETRY_DELAY_S = 0.25


def _slot_mapping_actions(domain: Any) -> set[str]:
    names = set()
    for slot in getattr(domain, "slots", []):
        for mapping in getattr(slot, "mappings", None) or []:
            if mapping.get("type") == "custom" and mapping.get("action"):
                names.add(mapping["action"])
    return names


def _said_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        event_type = getattr(event, "type_name", "")
        if event_type == "user":
            return False
        if event_type == "bot" and (getattr(event, "metadata", None) or {}).get("utter_action") == RESPONSE:
            return True
    return False


def _unvalidated_slots(tracker: Any) -> list[str]:
    """Slots a form validation was asked to check: the SlotSets after the form's ActionExecuted."""
    names: list[str] = []
    for event in reversed(tracker.events):
        event_type = getattr(event, "type_name", "")
        if event_type in ("action", "user"):
            break
        if event_type == "slot" and event.key != "requested_slot" and event.value is not None:
            names.append(event.key)
    return names


async def failure_events(action: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.events import SlotSet

    events: list[Any] = []
    if not _said_this_turn(tracker) and RESPONSE in domain.responses:
        speaking = tracker
        language = (tracker.latest_message.parse_data or {}).get("language") if tracker.latest_message else None
        slot = next((s for s in domain.slots if s.name == LANGUAGE_SLOT), None)
        if language and slot is not None and language != tracker.get_slot(LANGUAGE_SLOT):
            speaking = tracker.copy()
            speaking.update(SlotSet(LANGUAGE_SLOT, language))
        draft = await nlg.generate(RESPONSE, speaking, output_channel.name())
        if draft:
            draft["utter_action"] = RESPONSE
            events.append(create_bot_utterance(draft))
    slots = _unvalidated_slots(tracker) if action.name().startswith("validate_") else []
    slots += [name for name in RESET_ON_FAILURE if tracker.get_slot(name) is not None and name not in slots]
    known = {slot.name for slot in domain.slots}
    events += [SlotSet(name, None) for name in slots if name in known]
    return events


def _cause(error: BaseException) -> BaseException | None:
    return error.__cause__ or error.__context__


def connection_failed(error: BaseException) -> bool:
    """Rasa's "Couldn't connect" error: the call failed at the connection, no answer came."""
    import aiohttp

    return isinstance(_cause(error), aiohttp.ClientConnectionError)


def server_unavailable(error: BaseException) -> bool:
    """The action server is down or failing (connection, timeout, 5xx), not misconfigured (4xx)."""
    import aiohttp

    cause = _cause(error)
    if isinstance(error, asyncio.TimeoutError) or isinstance(cause, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return True
    if isinstance(cause, aiohttp.ClientConnectionError):
        return True
    status = getattr(cause, "status", None)
    return isinstance(status, int) and status >= 500


def install() -> Callable[[], None]:
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            try:
                return await original(self, output_channel, nlg, tracker, domain)
            except RasaException as error:
                if not connection_failed(error):
                    raise
                logger.warning("custom action '%s': connection to the action server failed, retrying once",
                               self.name())
                await asyncio.sleep(RETRY_DELAY_S)
                return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except (RasaException, asyncio.TimeoutError) as error:
            if self.name() == SESSION_START and server_unavailable(error):
                logger.error("custom action '%s' could not run: Rasa's own session start instead", SESSION_START)
                from bot.handoff.pause import session_start_events

                return await session_start_events(output_channel, nlg, tracker, domain)
            intent = ((tracker.latest_message.intent or {}).get("name") or "") if tracker.latest_message else ""
            if (not server_unavailable(error) or self.name() in _slot_mapping_actions(domain)
                    or intent.startswith("EXTERNAL_")):
                raise
            logger.error("custom action '%s' could not run (action server unreachable or failing): "
                         "telling the user nothing was done", self.name())
            return await failure_events(self, output_channel, nlg, tracker, domain)

    run.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction.run = run

    def undo() -> None:
        RemoteAction.run = original

    return undo
