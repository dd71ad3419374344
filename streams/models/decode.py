"""Turning raw bytes into validated events, with a reason a person can act on when that fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import ConfigDict, TypeAdapter, ValidationError

from streams.models.events import INSTANT_ERROR, CallEvent, Event, instant_problem

_WIRE = ConfigDict(cache_strings="keys")
"""Cache only the JSON keys as Python strings: values (ids) are mostly unique, so caching them costs ~0.4 us per
event in lookups and evictions and saves nothing."""
CALL_ADAPTER: TypeAdapter[CallEvent] = TypeAdapter(CallEvent, config=_WIRE)
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=_WIRE)

Validate = Callable[..., Any]
"""A schema validator's `validate_json` (pydantic-core's own, without TypeAdapter's Python wrapper: hot path)."""
_VALIDATE_CALL: Validate = CALL_ADAPTER.validator.validate_json
_VALIDATE_EVENT: Validate = EVENT_ADAPTER.validator.validate_json


class InvalidEvent(ValueError):
    """Raised for bytes that are not a valid event; `reason` says what is wrong, `kind` classifies it."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _describe(error: ValidationError) -> str:
    """The first few problems as `field: what is wrong`; a bad date-time says whether the form, offset or year is."""
    parts = []
    for err in error.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        msg = instant_problem(err["input"]) if err["type"] == INSTANT_ERROR else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def decode_call(raw: bytes | str) -> CallEvent:
    """Parse and validate one call event (the `cckpi.calls` topic), or raise InvalidEvent."""
    try:  # one strict pass, inlined: this is the worker's per-message path
        return _VALIDATE_CALL(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(raw, exc) from None


def decode_event(raw: bytes | str) -> Event:
    """Parse and validate one JSON event of any kind, or raise InvalidEvent with the reason."""
    try:
        return _VALIDATE_EVENT(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(raw, exc) from None


def _invalid(raw: bytes | str, error: ValidationError) -> InvalidEvent:
    """Classify a rejection after the fact: not JSON, not an object, or which fields are wrong.

    Validation is strict (no coercion: "12" is not a number, true is not 1, a number is not a date-time), so what
    is accepted is what the published schemas allow.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return InvalidEvent(f"not JSON: {exc}", "not_json")
    if not isinstance(data, dict):
        return InvalidEvent("event must be a JSON object", "not_object")
    return InvalidEvent(f"invalid event: {_describe(error)}", "invalid")


def encode_event(event: Event) -> bytes:
    """Serialize an event as compact JSON (the wire format of the event topics)."""
    return orjson.dumps(event.model_dump(mode="json"))
