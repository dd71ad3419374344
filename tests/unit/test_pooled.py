"""Pooled call terms (`aggregate: pooled`): one window over all the term's queues, merged from per-queue parts, in
`cckpi compute` and in the stream's shell alike; the merge is exact whatever the order and repetition of parts."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.app.shell import BatchResult, StreamShell
from streams.contracts import ContractError, parse_contract
from streams.core import Processor, WindowResult, compute
from streams.core.pool import POOLED, Pool, PoolPart, TermPool, load_pool, pool_partition, pool_writes
from streams.core.records import BreachUpdate, LateContribution
from streams.core.state import SCALE
from streams.core.terms import TermIndex
from streams.kafka_io import topics
from streams.models import encode_event
from streams.sinks import Metrics
from tests.helpers import abandoned, answered, at, terms

POOLED_CONTRACT = """
id: tel
name: telecom
timezone: Asia/Shanghai
scope: {queues: [a, b, c]}
terms:
  - id: ar
    kpi: answer_rate
    aggregate: pooled
    threshold: 0.9
    window: 1h
    grace: 2m
    retention: 1h
    min_volume: 100
"""
PER_QUEUE = POOLED_CONTRACT.replace("aggregate: pooled", "aggregate: per_queue")
KEY = "tel/ar"
START = at("10:00").timestamp()
END = at("11:00").timestamp()


def part(queue: str, answered_: int, offered_: int, *, closed: bool = True, version: tuple[int, int] = (1, 0),
         clock: float | None = None) -> PoolPart:
    return PoolPart(KEY, queue, clock if clock is not None else END + 200, START, END, answered_ * SCALE,
                    offered_ * SCALE, closed, version, (f"{queue}-last",))


def windows(outputs: list) -> list[WindowResult]:
    return [o for o in outputs if isinstance(o, WindowResult)]


def merged(parts: list[PoolPart], index: TermIndex | None = None) -> tuple[Pool, list]:
    pool, out = Pool(index or terms(POOLED_CONTRACT)), []
    for p in parts:
        out += pool.on_part(p)
    return pool, out


def test_three_queues_at_88_89_and_89_5_percent_make_one_pooled_window() -> None:
    # a: 880/1000 = 88%, b: 1780/2000 = 89%, c: 3580/4000 = 89.5% -> pooled 6240/7000 = 89.14%: one breach, not three
    pool, out = merged([part("a", 880, 1000), part("b", 1780, 2000)])
    assert windows(out) == []  # c has said nothing yet: the pooled window waits for it
    out = pool.on_part(part("c", 3580, 4000))
    [w] = windows(out)
    assert (w.scope, w.numerator, w.denominator, w.status, w.revision) == (POOLED, 6240, 7000, "breached", 0)
    assert w.value == pytest.approx(6240 / 7000)
    assert w.key == "tel/ar/all/2026-11-23T10:00:00+08:00"
    [final] = [o for o in out if isinstance(o, BreachUpdate)]
    assert (final.state, final.scope, final.denominator) == ("final", POOLED, 7000)


def test_a_late_queue_part_revises_the_closed_pooled_window() -> None:
    # c's clock passed the window with no part: the window closes on a and b; c's part then arrives late
    pool, out = merged([part("a", 880, 1000), part("b", 1780, 2000),
                        PoolPart(KEY, "c", END + 200)])
    [first] = windows(out)
    assert (first.numerator, first.denominator, first.revision, first.status) == (2660, 3000, 0, "breached")
    [revised] = windows(pool.on_part(part("c", 3580, 4000, version=(7, 1))))
    assert (revised.numerator, revised.denominator, revised.revision) == (6240, 7000, 1)
    assert revised.closed_by == "late_event"


def test_a_revised_part_replaces_its_queue_share_and_stale_or_repeated_parts_change_nothing() -> None:
    pool, out = merged([part("a", 880, 1000), part("b", 1780, 2000), part("c", 3580, 4000)])
    assert windows(out)[0].numerator == 6240
    [revised] = windows(pool.on_part(part("a", 950, 1010, version=(9, 1))))  # a late call answered in a
    assert (revised.numerator, revised.denominator, revised.revision) == (6310, 7010, 1)
    assert pool.on_part(part("a", 880, 1000, version=(1, 0))) == []  # the older part, delivered again
    assert pool.on_part(part("a", 950, 1010, version=(9, 1))) == []  # the same part again
    assert pool.states[KEY].windows[START].agg.n == 6310 * SCALE


def test_minimum_volume_applies_to_the_pool_not_to_each_queue() -> None:
    # 40 calls a queue: each queue alone is below min_volume 100, the pool of 120 is judged
    _, out = merged([part("a", 38, 40), part("b", 37, 40), part("c", 36, 40)])
    [w] = windows(out)
    assert (w.numerator, w.denominator, w.status) == (111, 120, "met")


def test_open_pooled_window_warns_and_breaches_on_the_pooled_value() -> None:
    pool, out = merged([part("a", 80, 90, closed=False, clock=START + 60),
                        part("b", 20, 20, closed=False, clock=START + 60)])
    assert out == []  # a alone is below min_volume; with b 100/110 = 90.9%: met, no step
    [breach] = pool.on_part(part("c", 0, 10, closed=False, clock=START + 60))
    assert isinstance(breach, BreachUpdate) and (breach.state, breach.denominator) == ("breached", 120)


def test_past_retention_a_part_is_reported_not_merged() -> None:
    pool, _ = merged([PoolPart(KEY, q, END + 120 + 3600) for q in "abc"])
    [late] = pool.on_part(part("a", 1, 1))
    assert isinstance(late, LateContribution) and late.scope == POOLED


def test_a_queue_never_heard_of_follows_the_others_after_idle_after() -> None:
    pool = Pool(terms(POOLED_CONTRACT))
    pool.on_part(part("a", 880, 1000), wall_now=100.0)
    pool.on_part(part("b", 1780, 2000), wall_now=100.0)
    assert pool.idle(105.0, idle_after=10.0) == []
    [w] = windows(pool.idle(111.0, idle_after=10.0))
    assert (w.denominator, w.closed_by) == (3000, "idle")


def test_merge_state_round_trips_and_a_restored_merge_continues_exactly() -> None:
    index = terms(POOLED_CONTRACT)
    pool, _ = merged([part("a", 880, 1000), part("b", 1780, 2000, closed=False, clock=START)], index)
    restored = load_pool(index, pool_writes(pool))
    assert restored.states[KEY].to_bytes() == pool.states[KEY].to_bytes()
    assert TermPool.from_bytes(KEY, pool.states[KEY].to_bytes()).windows[START].parts == \
        pool.states[KEY].windows[START].parts
    rest = [part("b", 1780, 2000, version=(2, 0)), part("c", 3580, 4000)]
    assert [windows(pool.on_part(p)) for p in rest] == [windows(restored.on_part(p)) for p in rest]
    raw = part("c", 3580, 4000)
    assert PoolPart.from_bytes(raw.to_bytes()) == raw
    assert {pool_partition(p.key, 4) for p in [*rest, PoolPart(KEY, "a", 0.0)]} == \
        {pool_partition(b"tel/ar/x", 4)}  # one partition per term


def calls(queue: str, good: int, bad: int, minute: int = 5) -> list:
    return [answered(at(f"10:{minute:02d}"), queue=queue) for _ in range(good)] + \
        [abandoned(at(f"10:{minute + 1:02d}"), queue=queue) for _ in range(bad)]


def test_compute_judges_a_pooled_term_once_over_all_its_queues() -> None:
    events = [*calls("a", 88, 12), *calls("b", 178, 22), *calls("c", 179, 21)]
    [w] = windows(compute(events, terms(POOLED_CONTRACT)))
    assert (w.scope, w.numerator, w.denominator, w.status) == ("all", 445, 500, "breached")  # 89%
    per_queue = windows(compute(events, terms(PER_QUEUE)))
    assert sorted((r.scope, r.denominator) for r in per_queue) == [("a", 100), ("b", 200), ("c", 200)]
    assert not any(isinstance(o, BreachUpdate) and o.scope != "all" for o in compute(events, terms(POOLED_CONTRACT)))


def test_compute_pooled_window_is_revised_by_a_late_call_of_one_queue() -> None:
    late = abandoned(at("11:05"), wait=3000, queue="b")  # offered 10:15, after b's window closed (11:02)
    events = [*calls("a", 90, 10), *calls("b", 95, 5), *calls("c", 95, 5),
              *[answered(at("11:03"), queue=q) for q in "abc"], late]
    pooled = windows(compute(events, terms(POOLED_CONTRACT)))
    assert [(w.window_start[11:16], w.revision, w.numerator, w.denominator) for w in pooled] == [
        ("10:00", 0, 280, 300), ("10:00", 1, 280, 301), ("11:00", 0, 3, 3)]


def test_aggregate_is_for_call_terms_only_and_defaults_to_per_queue() -> None:
    default = parse_contract(POOLED_CONTRACT.replace("    aggregate: pooled\n", ""))
    assert not default.terms[0].pooled and default.terms[0].aggregate is None
    with pytest.raises(ContractError, match="aggregate"):
        parse_contract(POOLED_CONTRACT.replace("aggregate: pooled", "aggregate: together"))
    survey = POOLED_CONTRACT.replace("kpi: answer_rate", "kpi: nps").replace("threshold: 0.9", "threshold: 10")
    with pytest.raises(ContractError, match="aggregate does not apply to nps"):
        parse_contract(survey.replace("window: 1h", "window: day"))


# --- The stream's two stages in process: two shells own different partitions of the queues, one dies mid-replay.


def stream_events() -> list:
    """Three queues over four hours with calls answered late in their window's grace and after it (revisions)."""
    rng = random.Random(16)
    events = []
    for minute in range(8 * 60, 12 * 60, 3):
        for queue in "abc":
            when = at(f"{minute // 60:02d}:{minute % 60:02d}", rng.randrange(60))
            events.append(answered(when, queue=queue) if rng.random() < 0.9 else abandoned(when, queue=queue))
            if rng.random() < 0.05:  # offered 10-70 minutes earlier: in grace, or a revision of a closed window
                events.append(abandoned(when, wait=rng.randrange(600, 4200), queue=queue))
    return events


def test_two_shells_one_restarted_mid_replay_give_the_pooled_windows_of_compute() -> None:
    index = terms(POOLED_CONTRACT.replace("window: 1h", "window: 15m").replace("min_volume: 100", "min_volume: 5"))
    events = stream_events()
    expected = {w.key: w for w in windows(compute(events, index))}
    partition_of = {"a": 0, "b": 1, "c": 2}
    messages = {p: [] for p in range(3)}
    for event in events:
        p = partition_of[event.queue]
        messages[p].append(RawMessage(event.queue.encode(), encode_event(event), topics.CALLS, p, len(messages[p])))
    owners = {0: "one", 1: "one", 2: "two"}
    shells = {name: StreamShell(Processor(index), Metrics(), idle_after=1e9) for name in ("one", "two")}
    source_store: dict[bytes, bytes] = {}
    pools = {p: Pool(index) for p in range(4)}
    pool_store: dict[int, dict[bytes, bytes]] = {p: {} for p in range(4)}
    got: dict[str, dict] = {}

    def deliver(result: BatchResult) -> None:
        for _, key, value in result.writes():
            if value is None:
                source_store.pop(key, None)
            else:
                source_store[key] = value
        sends = list(result.sends)
        for raw in [p.to_bytes() for p in result.parts]:  # through bytes, as on the parts topic
            part_ = PoolPart.from_bytes(raw)
            p = pool_partition(part_.key, 4)
            sends += [(topics.KPI_WINDOWS, o.key.encode(), orjson.dumps(o.to_dict()))
                      for o in pools[p].on_part(part_) if isinstance(o, WindowResult)]
            pool_store[p].update(pool_writes(pools[p]))
        for topic, _, value in sends:
            if topic == topics.KPI_WINDOWS:
                record = orjson.loads(value)
                if record["revision"] >= got.get(record["key"], {"revision": -1})["revision"]:
                    got[record["key"]] = record

    position = dict.fromkeys(range(3), 0)
    step = 0
    while any(position[p] < len(messages[p]) for p in range(3)):
        step += 1
        for p in range(3):
            batch = messages[p][position[p]:position[p] + 7 + p]
            if batch:
                deliver(shells[owners[p]].on_batch(batch, source_store))
                position[p] += len(batch)
        if step == 20:  # worker two dies; a new one restores partition 2 and gets messages again from 15 back
            shells["two"] = StreamShell(Processor(index), Metrics(), idle_after=1e9)
            shells["two"].warm((topics.CALLS, 2), source_store.items())
            position[2] = max(0, position[2] - 15)
            pools = {p: load_pool(index, pool_store[p].items()) for p in range(4)}  # the pool stage restarts too
    for p in range(3):  # then the queues fall quiet: the idle rule moves their clocks past every window
        deliver(shells[owners[p]].on_tick((topics.CALLS, p), [], wall_now=1e10))
    final = {k: (r["numerator"], r["denominator"], r["status"]) for k, r in got.items()}
    assert final == {k: (w.numerator, w.denominator, w.status) for k, w in expected.items()}
    assert len(final) == 18 and all("/all/" in k for k in final)
    assert any(w.revision > 0 for w in expected.values())  # late calls revised some pooled windows


def test_every_example_says_how_its_call_terms_are_judged() -> None:
    from streams.contracts import load_contract
    from streams.contracts.kpis import CATALOG

    found = {}
    for path in sorted(Path("contracts/examples").glob("*.yaml")):
        contract = load_contract(path)
        for t in contract.terms:
            if CATALOG[t.kpi].source == "calls" and "aggregate" in CATALOG[t.kpi].options:  # not staffing_floor
                found[f"{contract.id}/{t.id}"] = t.aggregate
    assert None not in found.values()
    assert found["telecom-outsourcing/answer-rate-month"] == "pooled"  # 「电话呼入接听率」: the hotline as a whole
