"""The stream shell: consumed batches in, state and output messages out, bad input to the dead letters."""

from __future__ import annotations

import orjson

from streams.app.emitter import RawMessage
from streams.app.shell import BatchResult, StreamShell
from streams.core import Processor
from streams.core.dedupe import SeenIds
from streams.core.layout import SEEN, STATE, load_state, state_key
from streams.core.state import ScopeState
from streams.kafka_io import topics
from streams.models import encode_event
from streams.sinks import Metrics
from tests.helpers import abandoned, answered, at, offered, terms


def msg(event: object, offset: int, key: bytes | None = None, partition: int = 0) -> RawMessage:
    value = event if isinstance(event, bytes) else encode_event(event)  # type: ignore[arg-type]
    queue = b"q1" if isinstance(event, bytes) else event.queue.encode()  # type: ignore[attr-defined]
    return RawMessage(key if key is not None else queue, value, topics.CALLS, partition, offset)


def shell() -> StreamShell:
    return StreamShell(Processor(terms()), Metrics(), idle_after=5)


def q1(s: StreamShell) -> ScopeState:
    """The state of queue q1 the shell holds (its engine of calls partition 0)."""
    return s.engines[(topics.CALLS, 0)].states["calls:q1"]


def stored(result: BatchResult) -> dict[bytes, bytes]:
    """The store's entries after a batch's writes (the key layout of `streams.core.layout`)."""
    return {key: value for _partition, key, value in result.writes() if value is not None}


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_batch_emits_window_breach_and_dead_letters() -> None:
    s = shell()
    batch = [
        msg(answered(at("10:01")), 0), msg(abandoned(at("10:02")), 1), msg(abandoned(at("10:03")), 2),
        msg(b'{"type": "call.answered"', 3),
        msg(answered(at("10:04")), 4, key=b"wrong-queue"),
        msg(offered(at("10:30")), 5),
    ]
    result = s.on_batch(batch, stored={})
    sent = [(topic, orjson.loads(value)) for topic, _key, value in result.sends]
    windows = [v for t, v in sent if t == topics.KPI_WINDOWS]
    breaches = [v for t, v in sent if t == topics.BREACHES]
    dead = [v for t, v in sent if t == topics.DEAD_LETTER]
    assert [(w["numerator"], w["denominator"], w["status"]) for w in windows] == [(1, 3, "breached")]
    assert breaches[0]["breach_id"] == windows[0]["key"] == "t/ar/q1/2026-11-23T10:00:00+08:00"
    assert [d["kind"] for d in dead] == ["not_json", "wrong_key"]
    assert dead[0]["offset"] == 3 and dead[0]["value"] == '{"type": "call.answered"'
    assert "must be the queue name" in dead[1]["reason"]
    assert sample(s.metrics, "cckpi_breaches_total", contract="t", term="ar", scope="q1") == 1
    assert sample(s.metrics, "cckpi_dead_letters_total", reason="wrong_key") == 1
    assert sample(s.metrics, "cckpi_answer_rate_ratio", contract="t", term="ar", scope="q1",
                  window="last_closed") == 1 / 3
    restored = load_state(b"calls:q1", stored(result).get)
    assert restored.windows == q1(s).windows


def test_state_is_loaded_from_the_table_when_not_cached() -> None:
    first = shell()
    result = first.on_batch([msg(answered(at("10:01")), 0), msg(answered(at("10:02")), 1)], stored={})
    table = stored(result)
    second = shell()  # a new worker after a rebalance
    result = second.on_batch([msg(abandoned(at("10:03")), 2), msg(offered(at("10:30")), 3)], stored=table)
    [window] = [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]
    assert (window["numerator"], window["denominator"]) == (2, 3)


def test_tick_closes_quiet_scopes_of_its_partition_only() -> None:
    s, wall = shell(), at("10:14").timestamp()
    r1 = s.on_batch([msg(answered(at("10:14")), 0, partition=0)], stored={}, wall_now=wall)
    r2 = s.on_batch([msg(answered(at("10:14"), queue="q2"), 0, partition=1)], stored={}, wall_now=wall)
    table = [*stored(r1).items(), *stored(r2).items()]
    assert s.on_tick((topics.CALLS, 0), table, wall_now=wall + 3).sends == []  # not idle long enough
    result = s.on_tick((topics.CALLS, 0), table, wall_now=wall + 200)
    scopes = {orjson.loads(v)["scope"] for t, _k, v in result.sends if t == topics.KPI_WINDOWS}
    assert scopes == {"q1"}
    assert [key for key in stored(result) if key.startswith(STATE)] == [state_key(b"calls:q1")]


def test_late_beyond_retention_goes_to_dead_letter_with_the_window() -> None:
    s = shell()
    s.on_batch([msg(answered(at("10:01")), 0), msg(offered(at("12:00")), 1)], stored={})
    result = s.on_batch([msg(answered(at("10:02")), 2)], stored={})
    [(topic, _key, value)] = result.sends
    dead = orjson.loads(value)
    assert topic == topics.DEAD_LETTER
    assert (dead["kind"], dead["window_start"], dead["offset"]) == ("late", "2026-11-23T10:00:00+08:00", 2)
    assert sample(s.metrics, "cckpi_events_late_total", contract="t", term="ar", outcome="dropped") == 1


def test_event_far_in_the_future_is_parked_not_allowed_to_close_windows() -> None:
    s = shell()
    now = at("10:30").timestamp()
    s.on_batch([msg(answered(at("10:01")), 0)], stored={}, wall_now=now)
    future = answered(at("10:01").replace(year=2030))
    result = s.on_batch([msg(future, 1)], stored={}, wall_now=now)
    [(topic, _key, value)] = result.sends
    assert topic == topics.DEAD_LETTER and orjson.loads(value)["kind"] == "future_event"
    assert q1(s).stream_time < now  # the clock did not jump


def test_a_bug_parks_the_message_and_the_batch_goes_on(monkeypatch: object) -> None:
    s = shell()

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    calls = iter([boom])
    original = s._one  # the shell (the core may be compiled: its methods cannot be replaced)

    def flaky(*args: object) -> object:
        fn = next(calls, None)
        return fn(*args) if fn else original(*args)  # type: ignore[arg-type]

    s._one = flaky  # type: ignore[method-assign]
    result = s.on_batch([msg(answered(at("10:01")), 0), msg(answered(at("10:02")), 1)], stored={})
    dead = [orjson.loads(v) for t, _k, v in result.sends if t == topics.DEAD_LETTER]
    assert [d["kind"] for d in dead] == ["internal_error"] and "bug" in dead[0]["reason"]
    assert q1(s).windows  # the second message was processed


def test_duplicates_are_recognised_by_a_new_worker_from_stored_state() -> None:
    first = shell()
    events = [answered(at("10:01")), abandoned(at("10:02")), answered(at("10:03"))]
    result = first.on_batch([msg(e, i) for i, e in enumerate(events)], stored={})
    table = stored(result)
    seen_table = [key for key in table if key.startswith(SEEN)]
    assert seen_table == [b"seen:calls:q1@" + str(int(at("10:00").timestamp())).encode() + b".0"]

    second = StreamShell(Processor(terms()), Metrics(), idle_after=5)  # after a restart
    replayed = [msg(e, 3 + i) for i, e in enumerate([*events[1:], offered(at("10:30"))])]  # re-sent: new offsets
    result = second.on_batch(replayed, stored=table)
    [window] = [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]
    assert (window["numerator"], window["denominator"]) == (2, 3)  # not 3/5
    assert sample(second.metrics, "cckpi_events_duplicate_total") == 2


def test_penalties_are_booked_once_per_breached_window() -> None:
    from streams.contracts import parse_contract
    from streams.core import compile_terms
    from tests.helpers import CONTRACT

    priced = CONTRACT.replace("    min_volume: 3", "    min_volume: 3\n    penalty: {amount: 500, currency: CNY}")
    index = compile_terms([parse_contract(priced)])
    metrics = Metrics()
    metrics.set_terms(index.by_key.values())
    s = StreamShell(Processor(index), metrics, idle_after=5)
    s.on_batch([msg(answered(at("10:01")), 0), msg(abandoned(at("10:02")), 1), msg(abandoned(at("10:03")), 2),
                msg(offered(at("10:30")), 3)], stored={})
    s.on_batch([msg(abandoned(at("10:04")), 4)], stored={})  # a late event revises the window: still breached
    assert sample(metrics, "cckpi_penalties_priced", contract="t", term="ar", currency="CNY") == 500


def test_a_message_delivered_again_after_a_crash_is_skipped_by_its_offset() -> None:
    first = shell()
    events = [answered(at("10:01")), abandoned(at("10:02")), answered(at("10:03"))]
    result = first.on_batch([msg(e, i) for i, e in enumerate(events)], stored={})
    state_table = {key: value for key, value in stored(result).items() if not key.startswith(SEEN)}
    # the seen ids were never written (the crash came first); the state, with its applied offset, was
    second = StreamShell(Processor(terms()), Metrics(), idle_after=5)
    redelivered = [msg(e, i) for i, e in enumerate(events)] + [msg(offered(at("10:30")), 3)]
    result = second.on_batch(redelivered, stored=state_table)
    [window] = [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]
    assert (window["numerator"], window["denominator"]) == (2, 3)


def test_ids_stored_past_the_applied_offset_were_never_applied() -> None:
    first = shell()
    events = [answered(at("10:01")), abandoned(at("10:02")), answered(at("10:03"))]
    result = first.on_batch([msg(e, i) for i, e in enumerate(events)], stored={})
    state = q1(first)
    seen_table = {key: value for key, value in stored(result).items() if key.startswith(SEEN)}
    state.applied = 0  # the state that survived the crash had applied only the first message
    state.windows.clear()
    state.seen = SeenIds()
    for agg_event in events[:1]:
        first.processor.ingest(state, "q1", agg_event, 0.0)
    stale = {**seen_table, state_key(b"calls:q1"): state.to_bytes()}
    second = StreamShell(Processor(terms()), Metrics(), idle_after=5)
    result = second.on_batch([msg(e, i) for i, e in enumerate(events)] + [msg(offered(at("10:30")), 3)],
                             stored=stale)
    [window] = [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]
    assert (window["numerator"], window["denominator"]) == (2, 3)  # offsets 1 and 2 counted, not taken for dupes


def test_aiokafka_records_are_read_as_they_are_fetched() -> None:
    """The worker hands aiokafka's ConsumerRecords to the shell without copying them: the same messages as
    ConsumerRecords and as RawMessages give the same sends and state."""
    from aiokafka.structs import ConsumerRecord

    batch = [msg(answered(at("10:01")), 0), msg(abandoned(at("10:02")), 1), msg(b"{", 2),
             msg(answered(at("10:04")), 3, key=b"wrong-queue"), msg(offered(at("10:30")), 4)]
    records = [ConsumerRecord(m.topic, m.partition, m.offset, 0, 0, m.key, m.value, None, len(m.key or b""),
                              len(m.value or b""), ()) for m in batch]
    by_hand = shell().on_batch(batch, stored={}, wall_now=1.8e9)
    fetched = shell().on_batch(records, stored={}, wall_now=1.8e9)

    def sent(result: BatchResult) -> list[tuple[str, bytes, dict]]:
        return [(t, k, {f: x for f, x in orjson.loads(v).items() if f != "dead_lettered_at"})
                for t, k, v in result.sends]
    assert sent(fetched) == sent(by_hand) and len(fetched.sends) >= 3
    assert {t for t, _k, _v in fetched.sends} >= {topics.KPI_WINDOWS, topics.DEAD_LETTER}
    assert stored(fetched) == stored(by_hand)
