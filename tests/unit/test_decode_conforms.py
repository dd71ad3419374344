"""The decoder is no looser than the published schemas: whatever `decode_event` or `decode_call` accepts is RFC 8259
JSON that validates against schemas/events/v1 (and is what the core gets), for every event type; and the schemas do
not promise what the decoder refuses. Valid events are generated from the published schemas themselves, then
mutated adversarially (wrong types, bool for int, strings for numbers, numbers for strings and timestamps, extra and
missing fields, huge ints, NaN/Infinity, nested junk, off-form timestamps, duplicate keys, another event's type)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streams.models import CallOffered, InvalidEvent, decode_call, decode_event, encode_event
from streams.models.events import EVENT_TYPES, MAX_YEAR, MIN_YEAR, NO_CONTROL, AgentEventBase, CallEventBase
from tests.event_schemas import schema_problem, schemas, strict_json

CALL_TOPIC_TYPES = {name for name, model in EVENT_TYPES.items() if issubclass(model, CallEventBase | AgentEventBase)}
ANNOTATIONS = {"title", "description", "default"}
ANY_CHARS = st.characters(exclude_categories=["Cs"])
"""Any character JSON can carry (not a lone surrogate)."""
PRINTABLE_CHARS = st.characters(exclude_categories=("Cs", "Cc"))
"""Any of those but control characters."""
PROFILE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


def instants() -> st.SearchStrategy[str]:
    """RFC 3339 date-times in the accepted years, with any whole-minute offset and 0..9 fraction digits."""
    def text(local: datetime, offset: int, digits: int, zulu: bool) -> str:
        fraction = f"{local.microsecond:06d}{local.microsecond % 997:03d}"[:digits]
        sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
        zone = "Z" if zulu else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        return f"{local:%Y-%m-%dT%H:%M:%S}" + (f".{fraction}" if digits else "") + zone
    return st.builds(text, st.datetimes(datetime(MIN_YEAR, 1, 1), datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999)),
                     st.integers(-(24 * 60 - 1), 24 * 60 - 1), st.integers(0, 9), st.booleans())


def from_schema(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a property of the published schemas allows (only the keywords those schemas use; others fail)."""
    if "anyOf" in prop:
        return st.one_of(*(from_schema(p) for p in prop["anyOf"]))
    if "const" in prop:
        return st.just(prop["const"])
    kind = prop["type"]
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = prop.get("minimum", prop.get("exclusiveMinimum", -1e9)), prop.get("maximum", 1e9)
        ints = st.integers(int(low) + ("exclusiveMinimum" in prop), int(high))
        return ints if kind == "integer" else ints | st.floats(low, high, exclude_min="exclusiveMinimum" in prop)
    if kind == "string" and prop.get("format") == "date-time":
        return instants()
    assert kind == "string" and set(prop) <= {"type", "minLength", "maxLength", "not", *ANNOTATIONS}, prop
    chars = PRINTABLE_CHARS if prop.get("not") == NO_CONTROL["not"] else ANY_CHARS
    return st.text(chars, min_size=prop.get("minLength", 0), max_size=prop["maxLength"])


def valid_event(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object the published schema of `event_type` allows, optional fields present or not."""
    schema = schemas()[event_type]
    props = {name: from_schema(prop) for name, prop in schema["properties"].items()}
    required = set(schema["required"]) | {"type"}
    return st.fixed_dictionaries({k: v for k, v in props.items() if k in required},
                                 optional={k: v for k, v in props.items() if k not in required})


VALID = st.sampled_from(sorted(EVENT_TYPES)).flatmap(valid_event)

BAD_INSTANTS = st.sampled_from([
    "2026-11-23T10:00:00", "2026-11-23 10:00:00+08:00", "2026-11-23t10:00:00z", "2026-11-23T10:00+08:00",
    "2026-11-23T10:00:00+0800", "2026-11-23T10:00:00+08", "2026-11-23T10:00:00,5Z", "2026-11-23T24:00:00Z",
    "2026-11-23T10:00:60Z", "2026-02-30T10:00:00Z", "2026-11-23T10:00:00.1234567891Z", "2026-11-23T10:00:00+24:00",
    "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z",
    "1700000000", "2026-11-23T10:00:00Z\n", " 2026-11-23T10:00:00Z", "2026-11-23", "+2026-11-23T10:00:00Z",
    "2026-11-23_10:00:00Z", "20261123T100000Z", "2026-W48-1T10:00:00Z", "２０２６-11-23T10:00:00Z"])
json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
JUNK = st.one_of(
    json_junk, BAD_INSTANTS, instants(),
    st.sampled_from([True, False, 0, 1, -1, 1.0, 9.0, 0.5, -0.0, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308,
                     1700000000, 1700000000.5, "12", "1e3", "-1", "true", "false", "null", "", " ", "NaN", "1",
                     "call.offered", [], {}, [1], {"a": 1}]),
    st.text(ANY_CHARS, min_size=99, max_size=202),
    st.text(st.sampled_from("\x00\t\n\x1f\x7f\x85\x9fa"), min_size=1, max_size=4))
RAW_TOKENS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "1E2", "0.0",
                              "123456789012345678901234567890", "1.0e+2", '"\\ud800"', '"\\u0000"', '"a\\u0085b"'])
FIELD_NAMES = sorted({name for schema in schemas().values() for name in schema["properties"]} | {"pad", ""})


def mutate(event: dict[str, Any], data: st.DataObject) -> bytes:
    """One adversarial change to a valid event, at the JSON value level or in the text."""
    field = data.draw(st.sampled_from(sorted(event)))
    mode = data.draw(st.integers(0, 6))
    event = dict(event)
    if mode == 0:
        event[field] = data.draw(JUNK)
    elif mode == 1:
        del event[field]
    elif mode == 2:
        event[data.draw(st.sampled_from(FIELD_NAMES))] = data.draw(JUNK)
    elif mode == 3:
        event["type"] = data.draw(st.sampled_from(sorted(EVENT_TYPES)))
    elif mode == 4 and "occurred_at" in event:
        event["occurred_at"] = data.draw(BAD_INSTANTS)
    raw = _dumps(event)
    if mode == 5:  # a raw token a JSON writer would never write, in place of a value
        raw = _dumps({**event, field: "\x00TOKEN"}).replace(b'"\\u0000TOKEN"', data.draw(RAW_TOKENS).encode())
    if mode == 6:  # the same key twice: the last one is the one that counts, for the decoder and for json
        raw = raw[:-1] + b"," + _dumps({field: data.draw(JUNK)})[1:]
    return raw


def _dumps(value: object) -> bytes:
    """Compact JSON of any Python value the strategies make (orjson refuses ints beyond 64 bits)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


@st.composite
def candidates(draw: st.DrawFn) -> bytes:
    """A valid event, or one adversarial mutation of it."""
    event = draw(VALID)
    return orjson.dumps(event) if draw(st.booleans()) else mutate(event, draw(st.data()))


def accepted(decode: Any, raw: bytes) -> Any:
    """The decoded event, or None when the decoder rejected it (with a reason)."""
    try:
        return decode(raw)
    except InvalidEvent as exc:
        assert exc.reason and exc.kind in {"not_json", "not_object", "invalid"}
        return None


@PROFILE
@given(VALID)
def test_every_valid_event_of_every_type_is_accepted_as_itself(event: dict[str, Any]) -> None:
    raw = orjson.dumps(event)
    assert schema_problem(raw) is None
    decoded = decode_event(raw)
    assert decoded.type == event["type"]
    assert decode_event(encode_event(decoded)) == decoded  # what it becomes is again a valid event
    assert (accepted(decode_call, raw) is not None) == (event["type"] in CALL_TOPIC_TYPES)


@PROFILE
@given(candidates())
def test_whatever_the_decoders_accept_validates_against_the_published_schemas(raw: bytes) -> None:
    for decode in (decode_event, decode_call):
        event = accepted(decode, raw)
        if event is not None:
            assert schema_problem(raw) is None, (raw, schema_problem(raw))
            assert event.type == strict_json(raw)["type"]
            assert MIN_YEAR <= event.occurred_at.year <= MAX_YEAR and event.occurred_at.utcoffset() is not None


def _integral_float_for_integer(raw: bytes) -> bool:
    """JSON Schema counts 9.0 as an integer; the strict decoder does not (the one known gap, on the safe side)."""
    doc = strict_json(raw)
    props = schemas()[doc["type"]]["properties"]
    return any(isinstance(v, float) and "integer" in orjson.dumps(props.get(k, {})).decode() for k, v in doc.items())


@PROFILE
@given(candidates())
def test_what_the_published_schemas_allow_the_decoder_accepts(raw: bytes) -> None:
    if schema_problem(raw) is None and not _integral_float_for_integer(raw):
        assert accepted(decode_event, raw) is not None, raw


@pytest.mark.parametrize(("field", "value"), [
    ("wait_seconds", "12"), ("wait_seconds", True), ("wait_seconds", None), ("occurred_at", 1700000000),
    ("occurred_at", "1700000000"), ("occurred_at", True), ("queue", 7), ("schema_version", True),
    ("schema_version", "1"), ("agent_id", 5), ("event_id", ""), ("event_id", "x" * 201), ("queue", "x" * 101),
    ("queue", "cards\n"), ("queue", "ca\x00rds"), ("queue", "\x85"), ("colour", "red"),
])
def test_loose_values_the_decoder_used_to_coerce_are_rejected_naming_the_field(field: str, value: object) -> None:
    event = {"type": "call.answered", "event_id": "e1", "call_id": "c1", "queue": "cards", "wait_seconds": 12,
             "agent_id": "ag7", "occurred_at": "2026-11-23T10:00:00+08:00", field: value}
    for decode in (decode_event, decode_call):
        with pytest.raises(InvalidEvent) as info:
            decode(orjson.dumps(event))
        assert info.value.kind == "invalid" and field in info.value.reason
    assert schema_problem(orjson.dumps(event)) is not None


@pytest.mark.parametrize(("when", "why"), [
    ("0001-01-01T00:00:00+08:00", "year 1 is outside 1970..2199"),
    ("9999-12-31T23:59:59-08:00", "year 9999 is outside 1970..2199"),
    ("1969-12-31T23:59:59Z", "year 1969 is outside"),
    ("2200-01-01T00:00:00+00:00", "year 2200 is outside"),
    ("2026-11-23T10:00:00", "must have a UTC offset"),
    ("2026-11-23 10:00:00+08:00", "must be in the form YYYY-MM-DDTHH:MM:SS"),
    ("2026-02-30T10:00:00+08:00", "day is out of range for month"),
])
def test_instants_out_of_range_or_without_offset_are_invalid_with_the_field(when: str, why: str) -> None:
    for field in ("occurred_at", "offered_at"):
        event = {"type": "call.ended", "event_id": "e1", "call_id": "c1", "queue": "cards", "talk_seconds": 60,
                 "occurred_at": "2026-11-23T10:05:00+08:00", field: when}
        with pytest.raises(InvalidEvent) as info:
            decode_event(orjson.dumps(event))
        assert info.value.kind == "invalid"
        assert f"call.ended.{field}: " in info.value.reason and why in info.value.reason, info.value.reason


def test_the_real_data_years_and_the_range_edges_stay_valid() -> None:
    for when in ("1999-01-01T00:00:36+02:00", "1970-01-01T00:00:00+14:00", "2199-12-31T23:59:59.999999999-12:00"):
        event = decode_event(orjson.dumps({"type": "call.offered", "event_id": "e", "call_id": "c", "queue": "q",
                                           "occurred_at": when}))
        assert event.occurred_at.isoformat()[:19] == when[:19] and event.ts == event.occurred_at.timestamp()


@pytest.mark.parametrize("when", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC),
                                  datetime(2026, 11, 23), datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30)))])
def test_events_built_in_python_obey_the_same_rules(when: datetime) -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        CallOffered(event_id="e", call_id="c", queue="q", occurred_at=when)
