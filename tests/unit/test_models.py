"""Event models: strict validation with actionable reasons, versioned schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import orjson
import pytest

from streams.models import (
    SCHEMA_VERSION,
    CallAnswered,
    InvalidEvent,
    decode_call,
    decode_event,
    encode_event,
    event_schemas,
)
from streams.models.events import Event
from tests.helpers import abandoned, answered, at, offered


def test_round_trip() -> None:
    event = answered(at("10:00"), wait=12.5)
    again = decode_event(encode_event(event))
    assert again == event and isinstance(again, CallAnswered)
    assert again.offered_at == at("09:59", 47.5)


@pytest.mark.parametrize(("raw", "kind", "fragment"), [
    (b"{not json", "not_json", "not JSON"),
    (b"[1, 2]", "not_object", "JSON object"),
    (b'{"type": "call.teleported"}', "invalid", "type"),
    (b'{"type": "call.answered", "event_id": "e", "call_id": "c", "queue": "q", "wait_seconds": 1,'
     b' "occurred_at": "2026-11-23T10:00:00"}', "invalid", "occurred_at: must have a UTC offset"),
    (b'{"type": "call.answered", "event_id": "e", "call_id": "c", "queue": "q", "wait_seconds": -1,'
     b' "occurred_at": "2026-11-23T10:00:00+08:00"}', "invalid", "wait_seconds"),
    (b'{"type": "call.offered", "event_id": "e", "call_id": "c", "queue": "q", "colour": "red",'
     b' "occurred_at": "2026-11-23T10:00:00+08:00"}', "invalid", "colour"),
])
def test_invalid_events_say_why(raw: bytes, kind: str, fragment: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(raw)
    assert info.value.kind == kind
    assert fragment in info.value.reason


def test_schemas_are_versioned_and_describe_required_fields() -> None:
    schemas = event_schemas()
    assert {"call.offered", "call.answered", "call.abandoned", "call.ended", "ticket.created", "ticket.first_response",
            "ticket.updated", "ticket.resolved", "ticket.reopened", "ticket.closed", "ticket.status_changed",
            "ticket.paused", "ticket.resumed", "ticket.customer_replied", "survey.submitted",
            "service.down", "service.up", "service.probe", "agent.logged_in", "agent.ready", "agent.not_ready",
            "agent.logged_out"} == set(schemas)
    answered_schema = schemas["call.answered"]
    assert answered_schema["$id"].endswith("/v1/call.answered.json")
    assert {"event_id", "call_id", "queue", "occurred_at", "wait_seconds"} <= set(answered_schema["required"])
    assert answered_schema["properties"]["occurred_at"]["format"] == "date-time"
    assert orjson.loads(orjson.dumps(answered_schema)) == answered_schema


def test_published_event_schemas_are_up_to_date() -> None:
    published = Path(__file__).parents[2] / "schemas" / "events" / f"v{SCHEMA_VERSION}"
    generated = event_schemas()
    assert sorted(p.name for p in published.iterdir()) == sorted(f"{name}.json" for name in generated)
    for name, schema in generated.items():
        assert json.loads((published / f"{name}.json").read_text()) == schema, \
            "run: cckpi schema events --out schemas/events"


def test_ticket_survey_and_service_events_and_their_routing_keys() -> None:
    from streams.models import routing_key

    ticket = decode_event(b'{"type": "ticket.created", "event_id": "t1", "ticket_id": "INC1", "category": "complaint",'
                          b' "occurred_at": "2026-11-23T10:00:00+08:00"}')
    probe = decode_event(b'{"type": "service.probe", "event_id": "p1", "service": "hotline", "ok": false,'
                         b' "interval_seconds": 60, "occurred_at": "2026-11-23T10:00:00+08:00"}')
    survey = decode_event(b'{"type": "survey.submitted", "event_id": "s1", "survey_id": "S1", "nps_score": 9,'
                          b' "queue": "cards", "occurred_at": "2026-11-23T10:00:00+08:00"}')
    assert [routing_key(e) for e in (ticket, probe, survey)] == ["INC1", "hotline", "cards"]
    with pytest.raises(InvalidEvent, match="nps_score"):
        decode_event(b'{"type": "survey.submitted", "event_id": "s1", "survey_id": "S1", "nps_score": 11,'
                     b' "occurred_at": "2026-11-23T10:00:00+08:00"}')


def test_call_topic_takes_only_call_events() -> None:
    from streams.models.decode import decode_call

    with pytest.raises(InvalidEvent):
        decode_call(b'{"type": "ticket.closed", "event_id": "t", "ticket_id": "T",'
                    b' "occurred_at": "2026-11-23T10:00:00+08:00"}')


def test_agent_state_events_travel_with_the_calls_of_their_queue() -> None:
    from streams.models import AgentNotReady, routing_key
    from streams.models.decode import decode_call
    from streams.sim.producer import topic_for

    raw = (b'{"type": "agent.not_ready", "event_id": "a1", "agent_id": "ag7", "queue": "cards", "reason": "break",'
           b' "occurred_at": "2026-11-23T10:00:00+08:00"}')
    event = decode_call(raw)
    assert isinstance(event, AgentNotReady) and event.reason == "break"
    assert routing_key(event) == "cards" and topic_for(event) == "cckpi.calls"
    assert decode_event(encode_event(event)) == event
    with pytest.raises(InvalidEvent, match="agent_id"):
        decode_call(b'{"type": "agent.ready", "event_id": "a2", "queue": "cards",'
                    b' "occurred_at": "2026-11-23T10:00:00+08:00"}')


@pytest.mark.parametrize("build", ["decoded", "constructed"])
def test_epoch_seconds_are_set_by_validation_for_every_event(build: str) -> None:
    """`ts` (and `offered_ts` of answered and abandoned calls) are instance attributes from validation on,
    whether the event came off the wire or was built in Python; hand-computed: 10:00:30+08:00 is 02:00:30 UTC."""
    made = {"answered": answered(at("10:00", 30), wait=12.5), "abandoned": abandoned(at("10:00", 30), wait=0.25),
            "offered": offered(at("10:00", 30))}
    events = {k: decode_call(encode_event(e)) if build == "decoded" else e for k, e in made.items()}
    utc = 1795399200.0 + 30  # 2026-11-23T02:00:30Z
    for event in events.values():
        assert event.__dict__["ts"] == utc
    assert events["answered"].__dict__["offered_ts"] == utc - 12.5 == events["answered"].offered_at.timestamp()
    assert events["abandoned"].__dict__["offered_ts"] == utc - 0.25
    assert "offered_ts" not in events["offered"].__dict__


def test_a_copy_with_other_fields_gets_their_epoch_seconds() -> None:
    event = answered(at("10:00", 30), wait=12.5)
    later = event.model_copy(update={"occurred_at": at("10:01"), "wait_seconds": 1.0})
    assert (later.ts, later.offered_ts) == (1795399260.0, 1795399259.0)
    assert (event.ts, event.offered_ts) == (1795399230.0, 1795399217.5)  # the original keeps its own
    assert later.model_dump() == {**event.model_dump(), "occurred_at": at("10:01"), "wait_seconds": 1.0}


def test_each_event_model_carries_exactly_one_type() -> None:
    """The core memoises a scope's terms per event model (`Processor._terms_for`): that is right only while a model
    stands for one `type`, so a model accepting two types (a Literal of two values) must fail here."""
    models = get_args(get_args(Event)[0])
    assert len(models) >= 20
    for model in models:
        assert len(get_args(model.model_fields["type"].annotation)) == 1, model.__name__
