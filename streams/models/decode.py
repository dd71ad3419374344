"""Turning raw bytes into validated events, with a reason a person can act on when that fails."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from streams.models.events import EVENT_ADAPTER, CallEvent, Event

CALL_ADAPTER: TypeAdapter[CallEvent] = TypeAdapter(CallEvent)


class InvalidEvent(ValueError):
    """Raised for bytes that are not a valid event; `reason` says what is wrong, `kind` classifies it."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def decode_call(raw: bytes | str) -> CallEvent:
    """Parse and validate one call event (the `cckpi.calls` topic), or raise InvalidEvent."""
    return _decode(raw, CALL_ADAPTER)


def decode_event(raw: bytes | str) -> Event:
    """Parse and validate one JSON event of any kind, or raise InvalidEvent with the reason."""
    return _decode(raw, EVENT_ADAPTER)


def _decode(raw: bytes | str, adapter: TypeAdapter[Any]) -> Any:
    try:  # the fast path: pydantic parses and validates in one pass; failures are classified below
        return adapter.validate_json(raw)
    except ValidationError:
        pass
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}", "not_json") from None
    if not isinstance(data, dict):
        raise InvalidEvent("event must be a JSON object", "not_object")
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid event: {_describe(exc)}", "invalid") from None


def encode_event(event: Event) -> bytes:
    """Serialize an event as compact JSON (the wire format of the event topics)."""
    return orjson.dumps(event.model_dump(mode="json"))
