"""Event models (pydantic): what the sources send, validated at the edge."""

from streams.models.decode import InvalidEvent, decode_event, encode_event
from streams.models.events import (
    SCHEMA_VERSION,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
    Event,
)
from streams.models.schema import event_schema, event_schemas

__all__ = [
    "SCHEMA_VERSION",
    "CallAbandoned",
    "CallAnswered",
    "CallEnded",
    "CallEvent",
    "CallOffered",
    "Event",
    "InvalidEvent",
    "decode_event",
    "encode_event",
    "event_schema",
    "event_schemas",
]
