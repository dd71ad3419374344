"""Bad input never stops anything: random bytes, broken JSON, wrong types, unknown events, naive or far-future
timestamps, huge payloads and invalid UTF-8 give a clear rejection; valid events around them all count."""

from __future__ import annotations

from itertools import zip_longest

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.app.emitter import RawMessage
from streams.app.shell import StreamShell
from streams.contracts import ContractError, parse_contract
from streams.core import Processor
from streams.kafka_io import topics
from streams.models import InvalidEvent, decode_event, encode_event
from streams.sinks import Metrics
from tests.helpers import CONTRACT, abandoned, answered, at, terms

VALID = orjson.loads(encode_event(answered(at("10:00"))))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


def mutated_events() -> st.SearchStrategy[bytes]:
    """Valid events with one field removed, retyped or replaced, or truncated, or not UTF-8."""
    def mutate(field: str, value: object, cut: int, mode: int) -> bytes:
        event = dict(VALID)
        if mode == 0:
            event.pop(field, None)
        elif mode == 1:
            event[field] = value
        raw = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS) if mode < 2 else encode_event(answered(at("10:00")))
        if mode == 2:
            raw = raw[:cut]
        if mode == 3:
            raw = raw.replace(b"general", b"\xff\xfe") if b"general" in raw else b"\xff" + raw
        return raw
    return st.builds(mutate, st.sampled_from(sorted(VALID)), json_values, st.integers(0, 200), st.integers(0, 3))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | mutated_events())
def test_decoding_accepts_or_rejects_with_a_reason(raw: bytes) -> None:
    try:
        event = decode_event(raw)
    except InvalidEvent as exc:
        assert exc.reason and exc.kind in {"not_json", "not_object", "invalid"}
    else:
        assert event.occurred_at.tzinfo is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400) | st.builds(lambda a, b, c: CONTRACT[:a] + c + CONTRACT[b:],
                                         st.integers(0, len(CONTRACT)), st.integers(0, len(CONTRACT)),
                                         st.text(max_size=30)))
def test_contract_loading_accepts_or_lists_problems_with_lines(text: str) -> None:
    try:
        parse_contract(text, "fuzz.yaml")
    except ContractError as exc:
        assert exc.problems and all(str(p).startswith("fuzz.yaml:") for p in exc.problems)


HUGE = b'{"type": "call.offered", "pad": "' + b"x" * 2_000_000 + b'"}'


def rejected(raw: bytes) -> bool:
    try:
        decode_event(raw)
    except InvalidEvent:
        return True
    return False


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=200) | mutated_events(), min_size=1, max_size=15))
def test_the_shell_parks_bad_messages_and_counts_every_valid_event(candidates: list[bytes]) -> None:
    bad = [raw for raw in candidates if rejected(raw)]  # a mutation can still be a valid event
    shell = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    good = [answered(at("10:01")), abandoned(at("10:02")), answered(at("10:03")), answered(at("10:30"))]
    huge = HUGE
    far_future = encode_event(answered(at("10:05").replace(year=2099)))
    naive = encode_event(answered(at("10:05"))).replace(b"+08:00", b"")
    year_1, year_9999 = (encode_event(answered(at("10:05"))).replace(b"2026-11-23", year) for year in
                         (b"0001-01-01", b"9999-12-31"))  # they once reached the core and spoiled the next event
    messages = [*(RawMessage(b"q1", v, topics.CALLS, 0, i) for i, v in enumerate(bad)),
                RawMessage(b"q1", huge, topics.CALLS, 0, 100), RawMessage(b"q1", far_future, topics.CALLS, 0, 101),
                RawMessage(b"q1", naive, topics.CALLS, 0, 102), RawMessage(b"q1", year_1, topics.CALLS, 0, 103),
                RawMessage(b"q1", year_9999, topics.CALLS, 0, 104)]
    valid = [RawMessage(b"q1", encode_event(e), topics.CALLS, 0, 200 + i) for i, e in enumerate(good)]
    interleaved = [m for pair in zip_longest(messages, valid) for m in pair if m is not None]
    result = shell.on_batch(interleaved, stored={}, wall_now=at("11:00").timestamp())
    windows = [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]
    assert [(w["numerator"], w["denominator"]) for w in windows] == [(2, 3)]
    dead = [orjson.loads(v) for t, _k, v in result.sends if t == topics.DEAD_LETTER]
    kinds = {d["kind"] for d in dead}
    assert {"future_event", "invalid"} <= kinds and "internal_error" not in kinds
    assert all(d["reason"] for d in dead)
    assert {d["reason"] for d in dead if d["offset"] in (103, 104)} == {
        "invalid event: call.answered.occurred_at: year 1 is outside 1970..2199",
        "invalid event: call.answered.occurred_at: year 9999 is outside 1970..2199"}
