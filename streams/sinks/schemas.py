"""Versioned JSON Schemas of the output topics, derived from the records themselves so they cannot drift."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from streams.core.penalties import Escalation
from streams.core.records import (
    BREACH_SCHEMA_VERSION,
    BreachUpdate,
    TicketMissed,
    TicketSolvedLate,
    TicketWarning,
    WindowResult,
)
from streams.sinks.records import DeadLetter

BASE = "https://cckpi.dev/schemas/outputs"


def _schema(record: type, name: str, version: int, extra: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(record).json_schema()
    schema["properties"] = {**extra, **schema["properties"]}
    schema["required"] = [*extra, *schema.get("required", [])]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE}/v{version}/{name}.json"
    schema["title"] = name
    return schema


def output_schemas() -> dict[str, dict[str, Any]]:
    """Schema of each output record, keyed by file name (without `.json`)."""
    text = {"type": "string"}
    breach = {"breach_id": text, "schema_version": {"const": BREACH_SCHEMA_VERSION}}
    return {
        "kpi-window": _schema(WindowResult, "kpi-window", 1, {"key": text}),
        "breach.window": _schema(BreachUpdate, "breach.window", BREACH_SCHEMA_VERSION, {
            **breach, "kind": {"const": "window"}, "severity": {"enum": ["breach", "warning", "forecast", "none"]}}),
        "breach.ticket": _schema(TicketMissed, "breach.ticket", BREACH_SCHEMA_VERSION, {
            **breach, "kind": {"const": "ticket"}, "status": {"const": "breached"}, "severity": {"const": "breach"}}),
        "breach.ticket-warning": _schema(TicketWarning, "breach.ticket-warning", BREACH_SCHEMA_VERSION, {
            **breach, "kind": {"const": "ticket"}, "status": {"enum": ["warning", "settled"]},
            "severity": {"enum": ["warning", "none"]}}),
        "breach.ticket-late": _schema(TicketSolvedLate, "breach.ticket-late", BREACH_SCHEMA_VERSION, {
            **breach, "kind": {"const": "ticket"}, "status": {"const": "solved_late"}, "severity": {"const": "none"}}),
        "escalation": _schema(Escalation, "escalation", 1, {"schema_version": {"const": 1}}),
        "dead-letter": _schema(DeadLetter, "dead-letter", 1, {}),
    }
