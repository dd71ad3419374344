"""Forecasts in the core: every minute of event time per queue, staffing from agent events, warnings in the
breach lifecycle, state that survives serialization, and predictions that match what the simulator then does."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import orjson

from streams.contracts import load_contract, parse_contract
from streams.core import BreachUpdate, ScopeState, WindowResult, compile_terms
from streams.core.batch import Engine
from streams.core.processor import Processor
from streams.core.records import QueueForecast
from streams.sim import Traffic, simulate
from tests.helpers import at

DEMO = Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml"


def run(events: list, terms: object) -> list:
    engine = Engine(terms)  # type: ignore[arg-type]
    out = []
    for e in events:
        out.extend(engine.ingest(e))
    return out


def test_a_forecast_every_minute_with_the_staffing_the_agent_events_give() -> None:
    traffic = Traffic()
    events = list(simulate(["general"], at("09:00"), 7200, traffic, 5, "f"))
    out = run(events, compile_terms([load_contract(DEMO)]))
    forecasts = [o for o in out if isinstance(o, QueueForecast)]
    minutes = [int(f.at[14:16]) + 60 * int(f.at[11:13]) for f in forecasts]
    assert minutes == sorted(set(minutes)) and len(minutes) >= 110  # one per minute once 5 minutes are known
    for f, minute in zip(forecasts, minutes, strict=True):
        # a forecast is made at the first event of a minute, before it: the staffing of the minute before
        assert f.agents == traffic.staffed((minute - 1 - 60) % 60), f.at
        assert {t.term for t in f.terms} == {"answer-rate-15m", "service-level-20s-15m", "asa-15m"}
    # the second hour: by then the handle time estimate has seen long calls end too
    dip = [f for f, m in zip(forecasts, minutes, strict=True) if m >= 120 and 8 <= m % 60 < 20]
    normal = [f for f, m in zip(forecasts, minutes, strict=True) if m >= 120 and 35 <= m % 60 < 60]
    sl = {name: [t.predicted for f in group for t in f.terms if t.term == "service-level-20s-15m"]
          for name, group in (("dip", dip), ("normal", normal))}
    assert max(sl["dip"]) < 0.5 < 0.8 < min(sl["normal"])
    needed = {name: [t.agents_needed for f in group for t in f.terms if t.term == "service-level-20s-15m"]
              for name, group in (("dip", dip), ("normal", normal))}
    assert all(n is not None and 7 < n <= 16 for n in needed["dip"] + needed["normal"])


def test_the_dip_raises_forecast_warnings_before_the_window_breaches_and_they_recover() -> None:
    events = list(simulate(["general"], at("09:00"), 7200, Traffic(), 5, "w"))
    out = run(events, compile_terms([load_contract(DEMO)]))
    warnings = [o for o in out if isinstance(o, BreachUpdate) and o.basis == "forecast"]
    raised = [w for w in warnings if w.state == "warning"]
    assert raised and all(w.severity == "forecast" and w.key.endswith("/forecast") for w in raised)
    assert {w.state for w in warnings} == {"warning", "recovered"}
    breached = {(o.term, o.window_start) for o in out if isinstance(o, WindowResult) and o.status == "breached"}
    warned = {(w.term, w.window_start) for w in raised}
    assert ("service-level-20s-15m", "2026-11-23T10:00:00+08:00") in breached & warned
    for w in raised:  # idempotent ids: revisions count up per forecast breach id
        same = [x.revision for x in warnings if x.key == w.key]
        assert same == list(range(1, len(same) + 1))
    assert all(o.to_breach()["severity"] in ("forecast", "none") for o in warnings)


def test_state_survives_serialization_mid_stream_and_old_states_still_load() -> None:
    terms = compile_terms([load_contract(DEMO)])
    events = list(simulate(["general"], at("09:00"), 3600, Traffic(), 8, "s"))
    whole = Processor(terms)
    state = ScopeState()
    expected = [o for e in events for o in whole.ingest(state, "general", e, 0.0)]
    again = Processor(terms)
    state2 = ScopeState()
    got = []
    for n, e in enumerate(events):
        if n % 97 == 0:
            state2 = ScopeState.from_bytes(state2.to_bytes())
        got.extend(again.ingest(state2, "general", e, 0.0))
    assert got == expected and state2.load == state.load
    old = orjson.loads(ScopeState(watermark=5.0).to_bytes())
    assert "fc" not in old and ScopeState.from_bytes(orjson.dumps(old)).load is None


def test_a_queue_without_agent_events_gets_no_forecast() -> None:
    events = [e for e in simulate(["general"], at("09:00"), 1800, Traffic(), 2, "n")
              if not e.type.startswith("agent.")]
    assert not [o for o in run(events, compile_terms([load_contract(DEMO)])) if isinstance(o, QueueForecast)]


CONSTANT = """
id: c
name: constant staffing
timezone: Asia/Shanghai
scope: {queues: [q]}
terms:
  - id: sl
    kpi: service_level
    answer_within_seconds: 20
    threshold: 0.8
    window: 1h
    min_volume: 20
"""


def test_predicted_service_level_matches_what_the_simulated_queue_then_does() -> None:
    """The simulator is an M/M/n+M queue: Erlang A on the estimated load must predict its hourly service level."""
    traffic = Traffic(calls_per_minute=5.0, agents=13, dip_agents=13, patience_mean_seconds=120)
    events = list(simulate(["q"], at("00:00"), 12 * 3600, traffic, 11, "m"))
    out = run(events, compile_terms([parse_contract(CONSTANT)]))
    forecasts = [o for o in out if isinstance(o, QueueForecast)]
    assert {f.model for f in forecasts[30:]} == {"erlang_a"}
    predicted = statistics.mean(t.predicted for f in forecasts[60:] for t in f.terms if t.predicted is not None)
    realised = [o for o in out if isinstance(o, WindowResult)][1:]
    actual = sum(r.numerator for r in realised) / sum(r.denominator for r in realised)
    assert 0.5 < actual < 0.95  # a queue where the model has something to predict
    assert math.isclose(predicted, actual, abs_tol=0.04), (predicted, actual)
    patience = statistics.median(f.patience_seconds or 0 for f in forecasts[60:])
    assert 90 < patience < 150  # the simulator's mean patience is 120 s


def test_forecast_metrics_follow_the_last_forecast() -> None:
    from streams.sinks.metrics import Metrics

    events = list(simulate(["general"], at("09:00"), 5400, Traffic(), 5, "x"))
    metrics = Metrics()
    forecasts = [o for o in run(events, compile_terms([load_contract(DEMO)])) if isinstance(o, QueueForecast)]
    for f in forecasts:
        metrics.on_forecast(f)
    last = forecasts[-1]
    sl = next(t for t in last.terms if t.term == "service-level-20s-15m")

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"scope": "general", **labels})

    term = {"contract": "demo", "term": "service-level-20s-15m"}
    assert value("cckpi_forecast_agents_staffed") == last.agents
    assert value("cckpi_forecast_service_level_ratio", **term) == sl.predicted
    assert value("cckpi_forecast_agents_needed", **term) == sl.agents_needed
    assert value("cckpi_forecast_budget_contacts", **term) == sl.budget_contacts
    assert value("cckpi_forecast_at_risk", **term) == float(sl.at_risk)
    assert value("cckpi_forecast_arrivals_per_second") == last.calls_per_hour / 3600


def test_an_overloaded_queue_without_abandonment_is_at_risk_and_its_records_are_plain_json() -> None:
    import json

    traffic = Traffic(patience_mean_seconds=1e7, dip_agents=5)  # nobody hangs up: Erlang C, unbounded in the dip
    events = list(simulate(["general"], at("09:00"), 3600, traffic, 3, "o"))
    out = run(events, compile_terms([load_contract(DEMO)]))
    unstable = [t for o in out if isinstance(o, QueueForecast) and o.model == "erlang_c" and o.asa_seconds == math.inf
                for t in o.terms if t.term == "asa-15m"]
    assert unstable and all(t.predicted is None and t.projected is None for t in unstable)
    assert any(t.at_risk for t in unstable)
    for update in (o for o in out if isinstance(o, BreachUpdate)):
        json.dumps(update.to_breach(), allow_nan=False)
