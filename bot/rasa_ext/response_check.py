"""Action-server responses are checked against a validator built once, event by event.

Why not a supported point: ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``,
which first checks Rasa's constant schema against the metaschema, on every custom action call; the
check is internal to ``RemoteAction.run`` and no configuration reaches it.

What changes: the schema is checked once; each event is checked against its own type's sub-schema
instead of all 23 alternatives of the schema's ``oneOf`` (an event whose ``event`` is ``t`` can only
match ``t``'s alternative, so the verdict is the same). Anything that is not valid goes to the full
validator, so invalid responses still get Rasa's own error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def per_event_type_validation(schema: dict, validator_class: Any) -> Callable[[Any], bool]:
    """True only for a response the full schema accepts; see the module docstring."""
    try:
        events = schema["properties"]["events"]
        item = dict(events["items"])
        alternatives = item.pop("oneOf")
        by_type = {alt["properties"]["event"]["const"]: validator_class({"allOf": [item, alt]})
                   for alt in alternatives}
    except (KeyError, TypeError):
        return lambda result: False  # another schema shape: always the full validator
    if len(by_type) != len(alternatives):
        return lambda result: False
    envelope = validator_class({**schema, "properties": {**schema["properties"], "events": {
        key: value for key, value in events.items() if key != "items"}}})

    def valid(result: Any) -> bool:
        if not envelope.is_valid(result):
            return False
        for event in (result.get("events") or []) if isinstance(result, dict) else []:
            kind = event.get("event") if isinstance(event, dict) else None
            check = by_type.get(kind) if isinstance(kind, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    return valid


def install() -> Callable[[], None]:
    import jsonschema
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    original = RemoteAction._validate_action_result
    schema = RemoteAction.action_response_format_spec()
    validator = jsonschema.validators.validator_for(schema)(schema)
    validator.check_schema(schema)  # Rasa's own schema, checked once
    fast_valid = per_event_type_validation(schema, type(validator))

    def _validate_action_result(self: Any, result: dict) -> bool:
        if fast_valid(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the "
                f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result

    def undo() -> None:
        RemoteAction._validate_action_result = original

    return undo
