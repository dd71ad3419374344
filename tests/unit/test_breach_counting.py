"""`cckpi_breaches_total` counts each breached window once; its revisions count in `cckpi_window_revisions_total`
(window records with revision >= 1, the meaning of `cckpi compute` and the statement), penalties once per window
(its latest revision decides, as in the ledger)."""

from __future__ import annotations

from datetime import timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.app.shell import StreamShell
from streams.contracts import parse_contract
from streams.core import Processor, compile_terms
from streams.kafka_io import topics
from streams.sinks import Metrics
from tests.helpers import CONTRACT, abandoned, answered, at, offered
from tests.unit.test_shell import msg, sample

PRICED = CONTRACT.replace("    min_volume: 3", "    min_volume: 3\n    penalty: {amount: 500, currency: CNY}")


class Run:
    """A shell over the priced test contract that keeps every window record it published."""

    def __init__(self) -> None:
        index = compile_terms([parse_contract(PRICED)])
        self.metrics = Metrics()
        self.metrics.set_terms(index.by_key.values())
        self.shell = StreamShell(Processor(index), self.metrics, idle_after=3600)
        self.offset = 0
        self.windows: list[dict] = []

    def send(self, *events: object) -> None:
        batch = [msg(e, self.offset + i) for i, e in enumerate(events)]
        self.offset += len(batch)
        result = self.shell.on_batch(batch, stored={}, wall_now=at("12:00").timestamp())
        self.windows += [orjson.loads(v) for t, _k, v in result.sends if t == topics.KPI_WINDOWS]

    def count(self, name: str) -> float:
        return sample(self.metrics, name, contract="t", term="ar", **({"scope": "q1"} if "breach" in name else {}))


def test_revisions_of_a_breached_window_do_not_count_as_breaches_again() -> None:
    run = Run()
    run.send(answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03")), offered(at("10:30")))
    run.send(abandoned(at("10:04")))  # revision 1: still breached
    run.send(*(answered(at("10:06")) for _ in range(20)))  # each late event a revision, met from the 11th
    run.send(*(abandoned(at("10:07")) for _ in range(10)))  # breached again, the same window
    statuses = [w["status"] for w in run.windows]
    assert [w["revision"] for w in run.windows] == list(range(32))
    assert statuses[:2] == ["breached"] * 2 and "met" in statuses and statuses[-1] == "breached"
    assert run.count("cckpi_breaches_total") == 1
    assert run.count("cckpi_window_revisions_total") == 31
    assert sample(run.metrics, "cckpi_penalties_priced", contract="t", term="ar", currency="CNY") == 500


def test_a_window_revised_from_met_to_breached_counts_once() -> None:
    run = Run()
    run.send(*(answered(at("10:01")) for _ in range(3)), offered(at("10:30")))  # closes met
    run.send(abandoned(at("10:02")))  # revision 1: 3/4 breached
    run.send(abandoned(at("10:03")))  # revision 2: still breached
    assert [w["status"] for w in run.windows] == ["met", "breached", "breached"]
    assert run.count("cckpi_breaches_total") == 1 and run.count("cckpi_window_revisions_total") == 2


def test_windows_no_longer_revisable_are_forgotten() -> None:
    run = Run()
    run.send(answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03")), offered(at("10:30")))
    known = run.metrics.breached_windows.known[("t", "ar", "q1")]
    assert list(known) == ["t/ar/q1/2026-11-23T10:00:00+08:00"]
    run.send(answered(at("11:20")), abandoned(at("11:21")), abandoned(at("11:22")), offered(at("11:40")))
    assert list(known) == ["t/ar/q1/2026-11-23T11:15:00+08:00"]  # 10:00-10:15 is past 10:15 + 2m + 1h
    assert run.count("cckpi_breaches_total") == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 89), st.booleans()), min_size=1, max_size=60), st.integers(1, 8))
def test_breaches_and_revisions_match_the_published_window_records(calls: list[tuple[int, bool]],
                                                                   per_batch: int) -> None:
    run = Run()
    events = [(answered if ok else abandoned)(at("10:00") + timedelta(minutes=m)) for m, ok in calls]
    events.append(offered(at("13:00")))
    for i in range(0, len(events), per_batch):
        run.send(*events[i:i + per_batch])
    breached = {w["key"] for w in run.windows if w["status"] == "breached"}
    assert run.count("cckpi_breaches_total") == len(breached)
    assert run.count("cckpi_window_revisions_total") == sum(w["revision"] >= 1 for w in run.windows)
    latest = {w["key"]: w["status"] for w in run.windows}  # the latest revision decides the money, as in the ledger
    assert sample(run.metrics, "cckpi_penalties_priced", contract="t", term="ar", currency="CNY") == 500 * sum(
        status == "breached" for status in latest.values())
