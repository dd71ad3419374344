"""Turning raw bytes into validated events, with a reason a person can act on when that fails."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from streams.models.events import EVENT_ADAPTER, Event


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


def decode_event(raw: bytes | str) -> Event:
    """Parse and validate one JSON event, or raise InvalidEvent with the reason."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}", "not_json") from None
    if not isinstance(data, dict):
        raise InvalidEvent("event must be a JSON object", "not_object")
    try:
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid event: {_describe(exc)}", "invalid") from None


def encode_event(event: Event) -> bytes:
    """Serialize an event as compact JSON (the wire format of the event topics)."""
    return orjson.dumps(event.model_dump(mode="json"))
