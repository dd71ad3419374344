"""Versioned JSON Schemas published from the event models, for producers and their validators."""

from __future__ import annotations

from typing import Any

from streams.models.events import EVENT_TYPES, SCHEMA_VERSION

SCHEMA_BASE_URI = "https://cckpi.dev/schemas/events"


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one event type, with a versioned `$id`."""
    model = EVENT_TYPES[event_type]
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{SCHEMA_BASE_URI}/v{SCHEMA_VERSION}/{event_type}.json"
    schema["title"] = event_type
    return schema


def event_schemas() -> dict[str, dict[str, Any]]:
    """All event schemas keyed by event type."""
    return {name: event_schema(name) for name in EVENT_TYPES}
