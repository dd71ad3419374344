"""The simulator: deterministic per seed, time-ordered, and its staffing dip breaches the answer rate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.sim import Traffic, simulate
from tests.helpers import at

DEMO = Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml"


def run(seed: int) -> list:
    return list(simulate(["general", "cards"], at("09:00"), 3600, Traffic(), seed, "run"))


def test_same_seed_same_calls() -> None:
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_events_are_in_time_order_and_consistent() -> None:
    events = run(1)
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    counts = Counter(e.type for e in events)
    assert counts["call.offered"] >= counts["call.answered"] + counts["call.abandoned"] - 5
    assert counts["call.answered"] >= counts["call.ended"]
    assert len({e.event_id for e in events}) == len(events)


def test_dip_breaches_and_normal_staffing_meets() -> None:
    terms = compile_terms([load_contract(DEMO)])
    results = [r for r in compute(run(1), terms) if isinstance(r, WindowResult) and r.term == "answer-rate-15m"]
    by_window = {(r.scope, r.window_start[11:16]): r.status for r in results}
    assert by_window[("general", "09:00")] == by_window[("cards", "09:00")] == "breached"  # dip 09:05-09:20
    assert by_window[("general", "09:45")] == by_window[("cards", "09:45")] == "met"
