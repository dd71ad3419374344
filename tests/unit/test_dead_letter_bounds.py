"""Dead letters always fit the topic: whatever the input, a bounded excerpt of value and key with their sizes and
sha256, the reason and named fields cut, all built in one place (`dead_letter_message`) for every path."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import jsonschema
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.app.emitter import RawMessage
from streams.app.shell import StreamShell
from streams.contracts import parse_contract
from streams.core import Processor, compile_terms
from streams.kafka_io import topics
from streams.models import encode_event
from streams.sinks import Metrics, dead_letter_message
from streams.sinks.records import DEAD_LETTER_MAX_BYTES, KEY_EXCERPT_BYTES, TEXT_CHARS, VALUE_EXCERPT_BYTES
from tests.helpers import answered, at, terms
from tests.unit.test_tickets_surveys_availability import HELPDESK

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "outputs" / "dead-letter.json").read_text())
MB = 1_000_000
HOSTILE_VALUES = [
    bytes(range(256)) * (MB // 256),  # binary
    b'"' * MB,  # every byte escaped in JSON
    b"\x01" * MB,  # every byte escaped as \u0001 (six bytes)
    "汉".encode() * (MB // 3) + b"\xe6",  # UTF-8, cut mid-character at the end
    b'{"type": "call.offered", "' + b"x" * MB + b'": 1}',  # a field name the validation error names
]


def excerpt(letter: dict, prefix: str) -> bytes:
    """The bytes a dead letter carries of its value or key."""
    if f"{prefix}_base64" in letter:
        return base64.b64decode(letter[f"{prefix}_base64"])
    return str(letter[prefix]).encode()


def assert_bounded(key: bytes, value: bytes, original_key: bytes | None, original: bytes | None) -> dict:
    """The dead letter fits, validates against its published schema and describes the original exactly."""
    assert len(key) + len(value) <= DEAD_LETTER_MAX_BYTES
    letter = orjson.loads(value)
    jsonschema.validate(letter, SCHEMA)
    raw = original or b""
    assert (letter["value_bytes"], letter["value_sha256"]) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert letter["value_truncated"] == (len(raw) > VALUE_EXCERPT_BYTES)
    carried = excerpt(letter, "value")
    assert raw.startswith(carried) and len(carried) >= min(len(raw), VALUE_EXCERPT_BYTES) - 3
    if original_key is not None:
        assert letter["key_bytes"] == len(original_key)
        assert letter["key_sha256"] == hashlib.sha256(original_key).hexdigest()
        assert original_key.startswith(excerpt(letter, "key")) and original_key.startswith(key)
        assert len(key) <= KEY_EXCERPT_BYTES and letter["key_truncated"] == (len(original_key) > KEY_EXCERPT_BYTES)
    assert len(letter["reason"]) <= TEXT_CHARS + 40
    return letter


@settings(max_examples=60, deadline=None)
@given(value=st.sampled_from(HOSTILE_VALUES) | st.binary(max_size=9000) | st.none(),
       key=st.none() | st.binary(max_size=2000) | st.sampled_from([b"k" * 600_000, b"\x00\xff" * 300_000]),
       reason=st.text(max_size=50) | st.just("\x00" * 500_000), cut=st.integers(0, 5))
def test_any_dead_letter_is_bounded_and_describes_the_whole_message(value: bytes | None, key: bytes | None,
                                                                    reason: str, cut: int) -> None:
    raw = None if value is None else value[: len(value) - cut]
    out_key, out_value = dead_letter_message(raw, key, reason, "not_json", (topics.CALLS, 3, 7), term="\n" * MB,
                                             scope="q" * MB, window_start="w", event_id="\u2028" * MB)
    letter = assert_bounded(out_key, out_value, key, raw)
    assert (letter["topic"], letter["partition"], letter["offset"]) == (topics.CALLS, 3, 7)
    assert all(len(letter[f]) <= TEXT_CHARS + 40 for f in ("term", "scope", "event_id"))


def test_a_small_message_travels_whole_and_a_cut_character_is_left_out() -> None:
    small = encode_event(answered(at("10:00")))
    key, value = dead_letter_message(small, b"q1", "why", "invalid", (topics.CALLS, 0, 1))
    letter = orjson.loads(value)
    assert (key, letter["value"], letter["key"], letter["value_truncated"]) == (b"q1", small.decode(), "q1", False)
    text = "é" * VALUE_EXCERPT_BYTES  # two bytes each: the excerpt ends inside one unless it is left out
    letter = orjson.loads(dead_letter_message(b"x" + text.encode(), None, "why", "invalid")[1])
    assert letter["value"] == "x" + "é" * ((VALUE_EXCERPT_BYTES - 1) // 2) and "key" not in letter
    assert letter["value_truncated"] and letter["key_bytes"] == 0


def test_the_call_shell_parks_oversized_messages_bounded_and_counts_the_valid_events_after_them() -> None:
    metrics = Metrics()
    shell = StreamShell(Processor(terms()), metrics, idle_after=60)
    huge_key = b"q" * 600_000
    bad = [RawMessage(b"q1", v, topics.CALLS, 0, i) for i, v in enumerate(HOSTILE_VALUES)]
    bad.append(RawMessage(huge_key, encode_event(answered(at("10:00"))), topics.CALLS, 0, len(bad)))
    good = [RawMessage(b"q1", encode_event(answered(at("10:0" + str(i)))), topics.CALLS, 0, 10 + i)
            for i in range(3)]
    result = shell.on_batch([*bad, *good], stored={}, wall_now=at("11:00").timestamp())
    dead = [(k, v) for t, k, v in result.sends if t == topics.DEAD_LETTER]
    letters = [assert_bounded(k, v, m.key, m.value) for (k, v), m in zip(dead, bad, strict=True)]
    assert [d["kind"] for d in letters] == ["not_json", "not_json", "not_json", "not_json", "invalid", "wrong_key"]
    assert metrics.registry.get_sample_value("cckpi_events_total", {"type": "call.answered"}) == 4


def test_the_low_volume_shell_bounds_its_dead_letters_too() -> None:
    shell = StreamShell(Processor(compile_terms([parse_contract(HELPDESK)])), Metrics(), idle_after=10)
    call = encode_event(answered(at("10:00")))
    messages = [RawMessage(b"t" * 600_000, b'"' * MB, topics.TICKETS, 0, 0),
                RawMessage(b"t", call, topics.SURVEYS, 0, 1)]  # a call event on the wrong topic
    sends = shell.on_batch(messages, {}, wall_now=at("11:00").timestamp()).sends
    letters = [assert_bounded(k, v, m.key, m.value) for (_t, k, v), m in zip(sends, messages, strict=True)]
    assert [d["kind"] for d in letters] == ["not_json", "wrong_topic"]
