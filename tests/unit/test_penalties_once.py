"""Penalty money has one home: `streams.core.penalties` prices it, the ledger books it, and `cckpi_penalties_priced`
reports the same money per contract, term and currency for the same events (a window revised to met takes its
penalty back, a window revised to breached books it)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from streams.app.shell import StreamShell
from streams.cli.main import app
from streams.contracts import parse_contract
from streams.core import Processor, compile_terms
from streams.kafka_io import topics
from streams.ledger import build_ledger
from streams.models import encode_event
from streams.sinks import Metrics
from tests.helpers import abandoned, answered, at, offered
from tests.unit.test_shell import msg

PRICED = """
id: t
name: test
timezone: Asia/Shanghai
scope: {queues: [q1, q2]}
terms:
  - {id: ar, kpi: answer_rate, threshold: 0.8, window: 15m, grace: 2m, retention: 1h, min_volume: 3,
     penalty: {amount: 500.25, currency: CNY}}
  - {id: ar-hourly, kpi: answer_rate, threshold: 0.9, window: 1h, grace: 2m, retention: 1h, min_volume: 3,
     penalty: {amount: 0.1, currency: CNY, per: shortfall_unit, unit: 0.01}}
"""
WALL = at("23:00").timestamp()


def published_events() -> list[object]:
    """q1 10:00 breached then revised to met; q1 10:15 met then revised to breached; q2 10:00 breached; both
    hours breached; everything closed by a call at 13:00."""
    return [
        answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03")),
        *(abandoned(at("10:05"), queue="q2") for _ in range(3)),
        answered(at("10:16")), answered(at("10:17")), answered(at("10:18")),
        offered(at("10:40")), offered(at("10:40"), queue="q2"),  # closes 10:00-10:15 (q1 breached) and q2's
        *(answered(at("10:06")) for _ in range(20)),  # late: q1 10:00 revised to met, 21/23
        offered(at("10:50")),  # closes q1 10:15-10:30, met 3/3
        abandoned(at("10:20")), abandoned(at("10:21")),  # late: revised to 3/5, breached
        offered(at("13:00")), offered(at("13:00"), queue="q2"),  # closes the hours
    ]


def stream_money(events: list[object], per_batch: int = 4) -> tuple[Metrics, list[dict]]:
    """Run the events through a stream shell in batches; the metrics and the breach records it published."""
    index = compile_terms([parse_contract(PRICED)])
    metrics = Metrics()
    metrics.set_terms(index.by_key.values())  # as the worker does
    shell = StreamShell(Processor(index), metrics, idle_after=3600)
    breaches: list[dict] = []
    for i in range(0, len(events), per_batch):
        batch = [msg(e, i + j) for j, e in enumerate(events[i:i + per_batch])]
        sends = shell.on_batch(batch, stored={}, wall_now=WALL).sends
        breaches += [orjson.loads(v) for t, _k, v in sends if t == topics.BREACHES]
    return shell.metrics, breaches


def metric(metrics: Metrics, term: str, currency: str) -> float:
    value = metrics.registry.get_sample_value("cckpi_penalties_priced",
                                              {"contract": "t", "term": term, "currency": currency})
    return 0.0 if value is None else value


def by_term(entries: list[tuple[str, str, Decimal]]) -> dict[tuple[str, str], Decimal]:
    money: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for term, currency, amount in entries:
        if currency:
            money[(term, currency)] += amount
    return dict(money)


def test_the_metric_reports_what_cckpi_ledger_books(tmp_path: Path) -> None:
    events = published_events()
    contract, events_file = tmp_path / "t.yaml", tmp_path / "events.jsonl"
    contract.write_text(PRICED)
    events_file.write_bytes(b"\n".join(encode_event(e) for e in events))  # type: ignore[arg-type]
    result = CliRunner().invoke(app, ["ledger", "-c", str(contract), "--period", "2026-11", "--events",
                                      str(events_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    booked = by_term([(e["term"], e["currency"], Decimal(e["amount"])) for e in orjson.loads(result.stdout)["entries"]])
    # ar-hourly, per point short of 90%: q1 24/28 = 85.71% is 4.29 points, ceil 5; q2 0/3 is 90 points: 95 x 0.1
    assert booked == {("ar", "CNY"): Decimal("1000.50"), ("ar-hourly", "CNY"): Decimal("9.50")}
    metrics, _ = stream_money(events)
    assert {key: metric(metrics, *key) for key in booked} == {key: float(v) for key, v in booked.items()}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 89), st.booleans(), st.sampled_from(["q1", "q2"])), min_size=1,
                max_size=60), st.integers(1, 8))
def test_the_metric_equals_the_ledger_of_the_published_breaches(calls: list[tuple[int, bool, str]],
                                                                per_batch: int) -> None:
    events: list[object] = [(answered if ok else abandoned)(at("10:00") + timedelta(minutes=m), queue=q)
                            for m, ok, q in calls]
    events += [offered(at("13:00")), offered(at("13:00"), queue="q2")]
    metrics, breaches = stream_money(events, per_batch)
    ledger = build_ledger(breaches, [parse_contract(PRICED)])
    booked = by_term([(e.term, e.currency, e.amount) for e in ledger.entries])
    for term, currency in (("ar", "CNY"), ("ar-hourly", "CNY")):
        assert metric(metrics, term, currency) == float(booked.get((term, currency), Decimal(0)))
