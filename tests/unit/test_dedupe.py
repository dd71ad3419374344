"""Seen event ids are stored append-only: each persist writes only the new ids of an hour as its next part, a
restore merges the parts, and forgetting an hour deletes every part of it."""

from __future__ import annotations

import zlib

import orjson

from streams.core.dedupe import BUCKET_SECONDS, SeenIds, content_digest
from streams.models.decode import decode_call

HOUR = 100 * BUCKET_SECONDS


def test_each_persist_writes_only_the_ids_added_since_the_last() -> None:
    seen = SeenIds()
    store: dict[str, bytes | None] = {}
    for batch in range(3):
        for i in range(100):
            assert not seen.has(f"e{batch}-{i}", applied=300)
            seen.add(f"e{batch}-{i}", HOUR + 60 * batch + i % 60, position=batch * 100 + i)
        writes = seen.take_writes()
        assert [name for name, _ in writes] == [f"{HOUR}.{batch}"]
        assert len(orjson.loads(writes[0][1] or b"[]")) == 2 * 100  # the batch (id, value pairs), not the hour
        store.update(writes)
    restored = SeenIds()
    restored.load(seen.stored_parts(), store.get)
    assert restored.buckets == seen.buckets and restored.ids == seen.ids and restored.parts == {HOUR: 3}
    assert restored.has("e1-5", applied=300)  # a duplicate after the restore


def test_a_later_part_wins_for_an_id_applied_again_after_a_crash() -> None:
    seen = SeenIds()
    seen.add("x", HOUR, position=7)
    store = dict(seen.take_writes())
    assert not seen.has("x", applied=5)  # stored at 7 but never applied (applied is 5): taken again
    seen.add("x", HOUR, position=12)
    store.update(seen.take_writes())
    restored = SeenIds()
    restored.load(seen.stored_parts(), store.get)
    assert restored.buckets[HOUR] == ["x"] and not restored.has("x", applied=11) and restored.has("x", applied=12)


def test_forgetting_an_hour_deletes_all_its_parts() -> None:
    seen = SeenIds()
    for part in range(2):
        seen.add(f"a{part}", HOUR, position=part)
        seen.take_writes()
    seen.add("b", HOUR + BUCKET_SECONDS, position=5)
    seen.forget_before(HOUR + BUCKET_SECONDS)
    writes = seen.take_writes()
    assert (f"{HOUR}.0", None) in writes and (f"{HOUR}.1", None) in writes
    assert [name for name, value in writes if value is not None] == [f"{HOUR + BUCKET_SECONDS}.0"]
    assert not seen.has("a0") and seen.has("b", applied=5)
    assert seen.stored_parts() == [[HOUR + BUCKET_SECONDS, 1]]


def test_the_content_digest_is_of_the_declared_fields_only() -> None:
    """The digest reads every declared field and nothing else: reading a cached property (`ts`, `offered_ts`)
    first does not change it, it is the JSON array of the fields (as stored ids of earlier versions carry), and any
    field's change changes it."""
    raw = (b'{"type": "call.answered", "event_id": "e1", "call_id": "c1", "queue": "q", "wait_seconds": 12.5,'
           b' "occurred_at": "2026-11-23T10:00:00+08:00"}')
    fresh, read = decode_call(raw), decode_call(raw)
    assert read.ts and read.offered_ts  # cached in the instance once read
    expected = zlib.crc32(orjson.dumps([getattr(fresh, n) for n in type(fresh).model_fields]))
    assert content_digest(fresh) == content_digest(read) == expected
    other = decode_call(raw.replace(b"12.5", b"13.5"))
    assert content_digest(other) != expected
