"""Seen event ids are stored append-only: each persist writes only the new ids of an hour as its next part, a
restore merges the parts, and forgetting an hour deletes every part of it."""

from __future__ import annotations

import zlib

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.dedupe import BUCKET_SECONDS, SeenIds, content_digest
from streams.models.decode import decode_call, decode_event

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


def test_stored_digests_keep_their_formula() -> None:
    """Digests are stored with the seen ids: each event's is the value the first formula gave (hard-coded from it:
    crc32 of the JSON array of the declared fields, defaults included), whatever way the fields are read."""
    events = {
        b'{"type": "call.answered", "event_id": "e1", "call_id": "c1", "queue": "q", "wait_seconds": 12.5,'
        b' "agent_id": "a7", "occurred_at": "2026-11-23T10:00:00+08:00"}': 0x80921B85,
        b'{"type": "call.ended", "event_id": "e2", "call_id": "c1", "queue": "q", "talk_seconds": 90,'
        b' "offered_at": "2026-11-23T09:59:47.5+08:00", "occurred_at": "2026-11-23T10:01:30+08:00"}': 0x4C432175,
        b'{"type": "agent.ready", "event_id": "e3", "agent_id": "a7", "queue": "q",'
        b' "occurred_at": "2026-11-23T09:00:00Z"}': 0xCE832F4B,
        b'{"type": "survey.submitted", "event_id": "s1", "survey_id": "v1", "csat_points": 4, "queue": "q",'
        b' "occurred_at": "2026-11-23T12:00:00+08:00"}': 0x539836A,
    }
    assert {raw: content_digest(decode_event(raw)) for raw in events} == events


def test_forgetting_looks_up_only_the_hours_due_and_finds_the_next_oldest() -> None:
    """Hours with gaps, one of them listed out of order: forgetting drops exactly the hours ending by the horizon
    (those ids are new again), keeps the others, and the next forget starts from the earliest hour kept."""
    seen = SeenIds()
    hours = [HOUR + h * BUCKET_SECONDS for h in (3, 4, 6, 40, 41, 42, 1)]  # hour 1 comes last; 2, 5, 7..39 empty
    for n, hour in enumerate(hours):
        seen.add(f"e{n}", hour + 10, position=n)
    seen.take_writes()
    seen.forget_before(HOUR + 5 * BUCKET_SECONDS)  # hours 1, 3 and 4 end by then
    assert sorted(seen.buckets) == [HOUR + h * BUCKET_SECONDS for h in (6, 40, 41, 42)]
    assert seen.oldest == HOUR + 6 * BUCKET_SECONDS
    assert not seen.has("e0") and not seen.has("e6") and seen.has("e2", applied=9)
    assert sorted(name for name, value in seen.take_writes() if value is None) == [
        f"{HOUR + h * BUCKET_SECONDS}.0" for h in (1, 3, 4)]
    seen.forget_before(HOUR + 41 * BUCKET_SECONDS)  # hour 6 and hour 40; the next kept is 34 hours on
    assert sorted(seen.buckets) == [HOUR + 41 * BUCKET_SECONDS, HOUR + 42 * BUCKET_SECONDS]
    assert seen.oldest == HOUR + 41 * BUCKET_SECONDS
    seen.forget_before(float("inf"))  # the end of a batch input: everything
    assert seen.buckets == {} and seen.ids == {} and seen.oldest == float("inf")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 24 * 60), min_size=1, max_size=80), st.lists(st.integers(0, 24 * 62), max_size=6),
       st.booleans())
def test_forgetting_keeps_exactly_the_hours_that_end_after_each_horizon(hours: list[int], horizons: list[int],
                                                                         to_the_end: bool) -> None:
    """Hours with gaps of any length, in any order; horizons rising by any step (a few hours, past everything):
    each forget drops exactly the hours ending by it, their ids and stored parts, and `oldest` stays the earliest
    hour kept."""
    seen = SeenIds()
    for n, hour in enumerate(hours):
        seen.add(f"e{n}", HOUR + hour * BUCKET_SECONDS + 5, position=n)
    seen.take_writes()
    for at in [*(HOUR + h * BUCKET_SECONDS for h in sorted(horizons)), *([float("inf")] if to_the_end else [])]:
        kept = {h for h in hours if HOUR + (h + 1) * BUCKET_SECONDS > at}
        before = set(seen.buckets)
        seen.forget_before(at)
        assert set(seen.buckets) == {HOUR + h * BUCKET_SECONDS for h in kept}
        assert seen.oldest == min(seen.buckets, default=float("inf"))
        assert set(seen.ids) == {f"e{n}" for n, h in enumerate(hours) if h in kept}
        assert {name for name, value in seen.take_writes() if value is None} == {
            f"{b}.0" for b in before - set(seen.buckets)}
