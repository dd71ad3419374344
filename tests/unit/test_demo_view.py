"""The demo's live view from constructed inputs: the open window apart from the last closed verdict, forecast
lines, breach lines without "final met" noise, and a screen that fits 80x24."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from streams.contracts.kpis import CATALOG
from streams.demo.run import DemoOptions, example_contract, simulator_args
from streams.demo.view import (
    breach_lines,
    parse,
    remember,
    render,
    staffing_line,
    standing,
    term_row,
)

TZ = ZoneInfo("Asia/Shanghai")
KEY = ("demo-centre", "answer-rate-15m", "general")
EXPOSITION = """\
cckpi_answer_rate_ratio{contract="demo-centre",term="answer-rate-15m",scope="general",window="current"} 0.85
cckpi_answer_rate_ratio{contract="demo-centre",term="answer-rate-15m",scope="general",window="last_closed"} 0.95
cckpi_answer_rate_threshold_ratio{contract="demo-centre",term="answer-rate-15m"} 0.9
cckpi_answer_rate_warning_ratio{contract="demo-centre",term="answer-rate-15m"} 0.93
cckpi_csat_average_points{contract="demo-centre",term="csat-day",scope="all",window="current"} 4.1
cckpi_csat_average_threshold_points{contract="demo-centre",term="csat-day"} 4.0
cckpi_term_breached{contract="demo-centre",term="answer-rate-15m",scope="general"} 0
cckpi_breaches_total{contract="demo-centre",term="answer-rate-15m",scope="general"} 3
cckpi_forecast_projected_ratio{contract="demo-centre",term="answer-rate-15m",scope="general"} 0.87
cckpi_forecast_at_risk{contract="demo-centre",term="answer-rate-15m",scope="general"} 1
cckpi_forecast_agents_needed{contract="demo-centre",term="service-level-20s-15m",scope="general"} 12
cckpi_forecast_agents_staffed{scope="general"} 7
cckpi_watermark_timestamp_seconds{scope="general"} 1795449600
cckpi_watermark_timestamp_seconds{scope="tickets"} 1795446000
cckpi_events_total{type="call.offered"} 10
cckpi_events_total{type="ticket.created"} 2
"""


def window_step(state: str, status: str, severity: str, start: str = "10:00", **extra: Any) -> dict[str, Any]:
    return {"breach_id": f"demo-centre/answer-rate-15m/general/{start}", "kind": "window", "term": "answer-rate-15m",
            "scope": "general", "window_start": f"2026-11-23T{start}:00+08:00",
            "window_end": "2026-11-23T10:15:00+08:00",
            "state": state, "status": status, "severity": severity, "value": 0.8, "threshold": 0.9, "unit": "ratio",
            "basis": "observed", "window_revision": 0, **extra}


def plain(renderable: Any, width: int = 80, height: int = 24) -> str:
    console = Console(width=width, height=height, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_metrics_are_indexed_by_kpi_whatever_its_unit() -> None:
    snap = parse(EXPOSITION)
    assert snap.current[KEY] == 0.85 and snap.last_closed[KEY] == 0.95
    assert snap.kpis[KEY[:2]] is CATALOG["answer_rate"] and snap.thresholds[KEY[:2]] == 0.9
    assert snap.current[("demo-centre", "csat-day", "all")] == 4.1
    assert snap.unit(("demo-centre", "csat-day")) == "points"
    assert snap.projected[KEY] == 0.87 and snap.at_risk[KEY] == 1 and snap.staffed == {"general": 7}
    assert snap.clock == 1795449600 and snap.counters["cckpi_events_total"] == 12


def test_the_open_window_stands_apart_from_the_last_closed_verdict() -> None:
    snap = parse(EXPOSITION)
    row = [plain(c).strip() if not isinstance(c, str) else c for c in term_row(snap, KEY, with_contract=False)]
    assert row == ["answer-rate-15m", "general", "85.0% breach", "87.0%!", "95.0% met", ">=90%", "3"]
    snap.breached[KEY] = 1
    snap.current[KEY] = 0.92
    row = [plain(c).strip() if not isinstance(c, str) else c for c in term_row(snap, KEY, with_contract=True)]
    assert row[0] == "demo-centre/answer-rate-15m" and row[2] == "92.0% warn" and row[4] == "95.0% BREACH"
    assert standing(25.0, 30.0, 20.0, higher_is_better=False) == "warn"
    assert standing(None, 30.0, None, higher_is_better=False) == "-"


def test_forecast_and_staffing_lines() -> None:
    snap = parse(EXPOSITION)
    assert plain(staffing_line(snap)).strip() == "agents ready/needed: general 7/12"
    snap.at_risk[KEY] = 0
    row = term_row(snap, KEY, with_contract=False)
    assert plain(row[3]).strip() == "87.0%"  # projected, not at risk: no mark
    assert plain(term_row(parse(EXPOSITION.replace("cckpi_forecast_projected", "x")), KEY, False)[3]).strip() == "-"


def test_a_window_that_closed_met_after_a_warning_is_no_breach_line() -> None:
    latest: dict[str, Any] = {}
    remember(latest, [window_step("warning", "open", "warning"), window_step("final", "met", "none")])
    assert breach_lines(latest, 10) == []
    remember(latest, [window_step("breached", "open", "breach", start="10:15")])
    remember(latest, [window_step("warning", "open", "forecast", start="10:30", basis="forecast")])
    remember(latest, [{"breach_id": "demo-centre/first-response-30m/ticket/T1", "kind": "ticket",
                       "term": "first-response-30m", "ticket_id": "T1", "deadline": "2026-11-23T10:40:00+08:00"}])
    lines = [line.plain for line in breach_lines(latest, 10)]
    assert lines == ["ticket T1 first-response-30m missed its 10:40 deadline",
                     "10:15-10:15 answer-rate-15m general 80.0% vs 90.0% BREACH (open)"]
    remember(latest, [window_step("final", "breached", "breach", start="10:15", window_revision=1)])
    assert [line.plain for line in breach_lines(latest, 1)] == [
        "10:15-10:15 answer-rate-15m general 80.0% vs 90.0% BREACH (closed) rev 1"]  # one line per window
    remember(latest, [window_step("final", "met", "none", start=f"11:{m:02d}") for m in range(10)], keep=3)
    assert len(latest) == 3


def test_the_screen_fits_80x24_with_the_demo_contract() -> None:
    snap = parse(EXPOSITION)
    for n, term in enumerate(("service-level-20s-15m", "asa-15m", "talk-time-15m")):  # the call terms
        for scope in ("general", "cards"):
            snap.current[("demo-centre", term, scope)] = 0.5 + n / 100
    for term in ("first-response-30m", "updated-4h", "resolution-8h", "complaints-closed-24h", "availability-1h"):
        snap.current[("demo-centre", term, "all")] = 0.99
    snap.current[("demo-centre", "answer-rate-15m", "cards")] = 0.99
    latest: dict[str, Any] = {}
    remember(latest, [window_step("breached", "open", "breach", start=f"0{h}:00") for h in range(10)])
    text = plain(render(snap, latest, "demo-centre x60", TZ, height=24), width=80)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= 23 and max(map(len, lines)) <= 80, text
    assert lines[0].startswith(datetime.fromtimestamp(snap.clock or 0, UTC).astimezone(TZ).strftime("%Y-%m-%d %H:%M"))
    assert "service-level-20s-15m" in text and "complaints-closed-24h" in text  # term ids are not cut
    assert "BREACH (open)" in lines[-1]
    wall = plain(render(snap, latest, "demo-centre x60", TZ, height=60), width=160)
    assert wall.count("BREACH (open)") == 10


def test_the_demo_simulates_every_family_and_may_start_when_asked() -> None:
    opts = DemoOptions(example_contract("demo-centre.yaml"), start="2026-11-23T23:00")
    args = simulator_args(opts, "kafka://127.0.0.1:9092")
    assert args[args.index("--families") + 1] == "calls,tickets,surveys,availability"
    assert args[args.index("--start") + 1] == "2026-11-23T23:00"
    assert "--start" not in simulator_args(DemoOptions(opts.contract), "kafka://127.0.0.1:9092")
