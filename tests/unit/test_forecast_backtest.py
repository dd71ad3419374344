"""The backtest: staffing estimated from answering agents, scores consistent with the windows, the CLI commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from streams.adapters import adapter_for
from streams.cli.main import app
from streams.contracts import load_contract, parse_contract
from streams.core import WindowResult, compile_terms, compute
from streams.forecast.backtest import backtest, with_estimated_staffing
from streams.models import AgentLoggedIn, AgentLoggedOut, AgentReady, CallAnswered, CallEnded, CallOffered
from streams.queueing.erlang import predict
from streams.sim import Traffic, simulate
from tests.helpers import at

DEMO = Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml"
runner = CliRunner()


def answer(minute: int, agent: str, queue: str = "PS") -> CallAnswered:
    when = at("09:00") + timedelta(minutes=minute)
    return CallAnswered(event_id=f"{queue}-{minute}-{agent}", call_id=f"{minute}{agent}", queue=queue,
                        occurred_at=when, wait_seconds=1, agent_id=agent)


def test_staffing_is_the_distinct_agents_answering_in_each_interval() -> None:
    calls = [answer(1, "ann"), answer(2, "bob"), answer(3, "ann"), answer(5, "cy", "NW"), answer(31, "bob"),
             answer(40, "dee"), answer(41, "cy", "NW")]
    out = list(with_estimated_staffing(calls, 1800))
    times = [e.occurred_at for e in out]
    assert times == sorted(times) and [e for e in out if isinstance(e, CallAnswered)] == calls
    agent_events = [(e.type, e.queue, e.agent_id, e.occurred_at.strftime("%H:%M")) for e in out
                    if isinstance(e, AgentLoggedIn | AgentReady | AgentLoggedOut)]
    assert agent_events == [
        ("agent.logged_in", "NW", "cy", "09:00"), ("agent.ready", "NW", "cy", "09:00"),
        ("agent.logged_in", "PS", "ann", "09:00"), ("agent.ready", "PS", "ann", "09:00"),
        ("agent.logged_in", "PS", "bob", "09:00"), ("agent.ready", "PS", "bob", "09:00"),
        ("agent.logged_out", "PS", "ann", "09:30"),
        ("agent.logged_in", "PS", "dee", "09:30"), ("agent.ready", "PS", "dee", "09:30"),
    ]


def test_scores_agree_with_the_windows_the_core_closes() -> None:
    events = list(simulate(["general", "cards"], at("09:00"), 3 * 3600, Traffic(), 4, "b"))
    contract = load_contract(DEMO)
    contract = contract.model_copy(update={"terms": [t for t in contract.terms if t.kpi == "service_level"]})
    terms = compile_terms([contract])
    result = backtest(events, terms)
    closed = [r for r in compute(events, terms) if isinstance(r, WindowResult)]
    breached = sum(r.status == "breached" for r in closed)
    for rule in ("forecast", "interval", "observed"):
        score = result.score(rule)
        assert score.breaches == breached > 0
        assert 0 <= score.hits <= min(score.warned, score.breaches)
        assert len(score.lead_seconds) == score.hits
        assert all(0 < lead <= 900 for lead in score.lead_seconds)  # warned inside the 15-minute window
    forecast = result.score("forecast")
    assert forecast.recall is not None and forecast.recall >= 0.5  # the staffing dip is seen coming
    cal = result.calibration()  # the simulator is the model's own queue: predictions close to what happened
    assert cal.intervals >= 8 and cal.mean_absolute_error is not None and cal.mean_absolute_error < 0.15
    realised = sum(n for n, _ in result.realised.values()) / sum(d for _, d in result.realised.values())
    windows = sum(r.numerator for r in closed) / sum(r.denominator for r in closed)
    assert abs(realised - windows) < 0.02  # the same calls the windows judge (short abandons aside)


def bank_file(path: Path, hours: int) -> None:
    """Simulated calls of queue PS written as an Anonymous Bank file (servers named by the staffed agents)."""
    traffic = Traffic(calls_per_minute=3)
    offered, rows = {}, []
    header = ("vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit"
              "\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver")
    start = at("07:00")
    waits: dict[str, tuple[float, str | None]] = {}
    for n, e in enumerate(simulate(["PS"], start, hours * 3600, traffic, 9, "ab")):
        if isinstance(e, CallOffered):
            offered[e.call_id] = e.occurred_at
        elif e.type == "call.abandoned":
            rows.append((e.call_id, e.wait_seconds, "HANG", 0, None))
        elif isinstance(e, CallAnswered):
            minutes = (e.occurred_at - start).total_seconds() / 60
            waits[e.call_id] = (e.wait_seconds, f"AGENT{n % traffic.staffed(minutes)}")
        elif isinstance(e, CallEnded) and e.call_id in waits:
            wait, server = waits.pop(e.call_id)
            rows.append((e.call_id, wait, "AGENT", e.talk_seconds + e.wrap_seconds, server))
    lines = [header]
    for i, (call_id, wait, outcome, service, server) in enumerate(rows):
        t = offered[call_id].astimezone(adapter_for("anonymous-bank").zone())

        def clock(seconds: float, t: object = t) -> str:
            moment = t + timedelta(seconds=seconds)  # type: ignore[operator]
            return f"{moment.hour}:{moment.minute:02d}:{moment.second:02d}"

        q = round(wait)
        lines.append("\t".join([f"AA{i % 7:04d}", str(i), "0", "2", "PS", t.strftime("%y%m%d"), clock(-5),
                                clock(0), "5", clock(0), clock(q), str(q), outcome, clock(q) if server else "0:00:00",
                                clock(q + round(service)) if server else "0:00:00", str(round(service)),
                                server or "NO_SERVER"]))
    path.write_text("\n".join(lines) + "\n")


def test_backtest_command_prints_the_figures(tmp_path: Path) -> None:
    data = tmp_path / "99_Sim.txt"
    bank_file(data, 6)
    contract = tmp_path / "bank.yaml"
    contract.write_text("""
id: sim-bank
name: simulated bank
timezone: Asia/Jerusalem
scope: {queues: [PS]}
terms:
  - id: sl-15m
    kpi: service_level
    answer_within_seconds: 20
    threshold: 0.8
    window: 15m
    min_volume: 20
""")
    parse_contract(contract.read_text())
    result = runner.invoke(app, ["forecast", "backtest", "-c", str(contract), "--source", "anonymous-bank",
                                 str(data), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [r["rule"] for r in report["rules"]] == ["forecast", "interval", "observed"]
    assert report["forecasts"] > 200 and report["kpis"] == ["service_level"]
    assert report["calibration"]["intervals"] >= 6
    for r in report["rules"]:
        assert r["breached_windows"] >= 1 and r["false_alarms"] == r["warned_windows"] - r["warned_and_breached"]
    table = runner.invoke(app, ["forecast", "backtest", "-c", str(contract), "--source", "anonymous-bank", str(data)])
    assert table.exit_code == 0 and "Forecast backtest" in table.stdout and "forecast warning" in table.stdout


def test_erlang_command_prints_the_model() -> None:
    result = runner.invoke(app, ["forecast", "erlang", "--calls-per-hour", "200", "--aht-seconds", "180",
                                 "--agents", "9", "--answer-within", "20", "--patience-seconds", "120",
                                 "--target", "0.8", "--format", "json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    p = predict(200 / 3600, 180, 9, 20, 120)
    assert row["model"] == "erlang_a" and row["service_level"] == p.service_level
    assert row["abandon_rate"] == p.abandon_rate and row["agents_needed"] > 9
    overloaded = runner.invoke(app, ["forecast", "erlang", "--calls-per-hour", "200", "--aht-seconds", "180",
                                     "--agents", "9", "--answer-within", "20", "--format", "json"])
    assert json.loads(overloaded.stdout)["asa_seconds"] is None  # Erlang C: 9 agents cannot carry 10 Erlangs
    table = runner.invoke(app, ["forecast", "erlang", "--calls-per-hour", "200", "--aht-seconds", "180",
                                "--agents", "11", "--answer-within", "20"])
    assert table.exit_code == 0 and "68.21%" in table.stdout


def test_forecast_commands_have_help_with_examples() -> None:
    for command in (["forecast", "erlang"], ["forecast", "backtest"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Examples" in result.stdout, command
