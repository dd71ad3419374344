"""`cckpi forecast`: Erlang C / Erlang A for planners, and the backtest of breach forecasts on recorded calls."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streams.adapters import adapter_for
from streams.cli.common import contracts_or_exit
from streams.cli.inputs import adapter_errors_exit
from streams.cli.options import SOURCE_HELP, ContractFiles, SourceFiles, Timezone
from streams.core.terms import TermIndex, compile_terms
from streams.forecast.backtest import STAFFING_INTERVAL, Backtest, Score, backtest, with_estimated_staffing
from streams.models.events import Event
from streams.queueing.erlang import agents_needed, predict

app = typer.Typer(
    help="Queue forecasts: Erlang C / Erlang A for planners, and backtests of the breach forecasts.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"


def _number(value: float) -> float | None:
    """JSON has no infinity: an unstable queue's ASA is null."""
    return value if math.isfinite(value) else None


@app.command("erlang")
def erlang(
    calls_per_hour: Annotated[float, typer.Option(min=0, help="Offered calls per hour.")],
    aht_seconds: Annotated[float, typer.Option(min=0.001, help="Mean handle time (talk + hold + wrap), seconds.")],
    agents: Annotated[int, typer.Option(min=0, help="Agents staffed (ready to take calls).")],
    answer_within: Annotated[float, typer.Option(min=0, help="Service level target T: answered within T seconds.")],
    patience_seconds: Annotated[float | None, typer.Option(
        min=0.001, help="Callers' mean patience: Erlang A (with abandonment) instead of Erlang C.",
        show_default=False)] = None,
    target: Annotated[float | None, typer.Option(
        min=0, max=1, help="Service level to reach (e.g. 0.8): also print the agents needed.",
        show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Probability of waiting, service level, ASA (and abandon rate, with a patience) of a queue in steady state.

    Erlang C assumes callers wait forever; give `--patience-seconds` for Erlang A (M/M/n+M), where callers hang
    up after an exponential patience, which is what real queues do when they are short of agents.

    **Examples**

    - `cckpi forecast erlang --calls-per-hour 200 --aht-seconds 180 --agents 11 --answer-within 20`
    - `cckpi forecast erlang --calls-per-hour 200 --aht-seconds 180 --agents 11 --answer-within 20 --target 0.8`
    - `cckpi forecast erlang --calls-per-hour 200 --aht-seconds 180 --agents 9 --answer-within 20
      --patience-seconds 120 --format json`
    """
    rate = calls_per_hour / 3600
    p = predict(rate, aht_seconds, agents, answer_within, patience_seconds)
    needed = None if target is None else agents_needed(rate, aht_seconds, answer_within, service_level=target,
                                                       patience=patience_seconds, start=agents)
    row: dict[str, Any] = {
        "model": p.model, "calls_per_hour": calls_per_hour, "aht_seconds": aht_seconds, "agents": agents,
        "load_erlangs": p.load_erlangs, "answer_within_seconds": answer_within,
        "patience_seconds": patience_seconds, "p_wait": p.p_wait, "service_level": p.service_level,
        "asa_seconds": _number(p.asa_seconds), "occupancy": p.occupancy,
    }
    if patience_seconds is not None:
        row["abandon_rate"] = p.abandon_rate
    if target is not None:
        row["target"], row["agents_needed"] = target, needed
    if format is Format.json:
        typer.echo(orjson.dumps(row).decode())
        return
    table = Table("measure", "value", title=f"{p.model.replace('_', ' ').title()}: {calls_per_hour:g} calls/h, "
                  f"AHT {aht_seconds:g} s, {agents} agents ({p.load_erlangs:.2f} Erlangs)")
    table.add_row("probability of waiting", f"{p.p_wait:.2%}")
    table.add_row(f"service level ({answer_within:g} s)", f"{p.service_level:.2%}")
    table.add_row("average speed of answer", f"{p.asa_seconds:.1f} s" if math.isfinite(p.asa_seconds)
                  else "unbounded (agents < load)")
    if patience_seconds is not None:
        table.add_row("abandon rate", f"{p.abandon_rate:.2%}")
    table.add_row("occupancy", f"{p.occupancy:.1%}")
    if target is not None:
        table.add_row(f"agents needed for {target:.0%}", "-" if needed is None else str(needed))
    Console().print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _hours(seconds: float | None) -> str:
    """A lead time: hours, or signed minutes when under an hour."""
    if seconds is None:
        return "-"
    return f"{seconds / 3600:.1f} h" if abs(seconds) >= 3600 else f"{seconds / 60:+.0f} min"


RULES = {
    "forecast": "forecast warning (the core's rule: the window after the next 30 min, at the predicted level)",
    "interval": "next interval predicted below the threshold (for comparison)",
    "observed": "observed value so far below the threshold (baseline, no model)",
}


def _report(scores: list[Score], kpis: set[str]) -> dict[str, Any]:
    return {"kpis": sorted(kpis), "rules": [{
        "rule": s.rule, "description": RULES[s.rule], "warned_windows": s.warned, "warned_and_breached": s.hits,
        "breached_windows": s.breaches, "precision": s.precision, "recall": s.recall,
        "false_alarms": s.warned - s.hits, "median_lead_seconds": s.median_lead_seconds,
        "median_ahead_of_observed_seconds": s.median_ahead_seconds,
        "warned_before_observed_breach": s.before_observed} for s in scores]}


@app.command("backtest")
def backtest_command(
    contract: ContractFiles,
    source: Annotated[str, typer.Option("--source", help=SOURCE_HELP, show_default=False)],
    files: SourceFiles,
    kpi: Annotated[list[str] | None, typer.Option(
        help="KPI of the terms to score (repeatable).", show_default="service_level")] = None,
    staffing_interval: Annotated[float, typer.Option(
        min=60, help="Seconds per staffing estimate when the source has no agent events.")] = STAFFING_INTERVAL,
    timezone: Timezone = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Replay recorded calls through the core in batch and score the forecast warnings against the windows that
    really breached: precision (warned windows that breached), recall (breached windows that were warned) and
    median lead time (from the first warning to the window's end, and to when the observed value crossed;
    `earlier`: breached windows warned before the observed value crossed the threshold).

    Sources without agent state events (anonymous-bank) get their staffing estimated per interval: the distinct
    agents (`server`) who answered a call of the queue in it, ready from the interval's start.

    **Examples**

    - `cckpi forecast backtest -c contracts/examples/anonymous-bank.yaml --source anonymous-bank
      ../shared/data/anonymous-bank-1999/*.txt`
    - `cckpi forecast backtest -c contracts/examples/anonymous-bank.yaml --source anonymous-bank
      --kpi service_level --kpi answer_rate --format json data/01_January.txt`
    """
    err = Console(stderr=True)
    kpis = set(kpi or ["service_level"])
    terms = _terms_or_exit(contract, kpis, err)
    with adapter_errors_exit(err):
        result = _replay(source, files, timezone, staffing_interval, terms, err, transient=format is Format.json)
    scores = [result.score(rule) for rule in RULES]
    cal = result.calibration()
    if format is Format.json:
        report = _report(scores, kpis) | {"events": result.events, "forecasts": result.forecasts, "calibration": {
            "intervals": cal.intervals, "mean_predicted_service_level": cal.mean_predicted,
            "mean_realised_service_level": cal.mean_realised, "mean_absolute_error": cal.mean_absolute_error}}
        typer.echo(orjson.dumps(report).decode())
        return
    _print_backtest(result, scores, kpis)


def _terms_or_exit(contract: list[Path], kpis: set[str], err: Console) -> TermIndex:
    """The call terms of these KPIs in the contracts; exit 2 when there are none."""
    loaded = [c.model_copy(update={"terms": [t for t in c.terms if t.kpi in kpis]})
              for c in contracts_or_exit(contract)]
    terms = compile_terms(loaded)
    if not terms.by_queue:
        err.print(f"error: no call terms with kpi {', '.join(sorted(kpis))} in the contracts", style="red")
        raise typer.Exit(2)
    return terms


def _replay(source: str, files: list[Path], timezone: str | None, staffing_interval: float, terms: TermIndex,
            err: Console, transient: bool) -> Backtest:
    """The backtest of the source files' events (staffing estimated where the source has none), with a progress
    line on stderr."""
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn("{task.completed:,} events, at {task.fields[day]}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=transient) as progress:
        task = progress.add_task("replaying", total=None, day="-")
        seen = [0]

        def on_event(event: Event) -> None:
            seen[0] += 1
            if seen[0] % 5000 == 0:
                progress.update(task, completed=seen[0], day=event.occurred_at.date().isoformat())

        def on_problem(line: str) -> None:
            err.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)

        events = with_estimated_staffing(adapter_for(source, timezone).read(files, on_problem), staffing_interval)
        result: Backtest = backtest(events, terms, on_event)
        progress.update(task, completed=result.events, total=result.events)
    return result


def _print_backtest(result: Backtest, scores: list[Score], kpis: set[str]) -> None:
    """The scores as a table, the rules, and the calibration of the predicted service level."""
    cal = result.calibration()
    table = Table("rule", "warned", "breached", "hits", "false alarms", "precision", "recall", "median lead",
                  "ahead of observed", "earlier", title=f"Forecast backtest: {', '.join(sorted(kpis))} terms, "
                  f"{result.events:,} events, {result.forecasts:,} forecasts")
    for s in scores:
        table.add_row(s.rule, str(s.warned), str(s.breaches), str(s.hits), str(s.warned - s.hits),
                      _pct(s.precision), _pct(s.recall), _hours(s.median_lead_seconds),
                      _hours(s.median_ahead_seconds), str(s.before_observed))
    out = Console()
    out.print(table)
    for rule, text in RULES.items():
        out.print(f"[bold]{rule}[/]: {text}")
    if cal.intervals:
        out.print(f"calibration: over {cal.intervals:,} half hours with 20+ calls the next-interval service level "
                  f"was predicted at {_pct(cal.mean_predicted)} on average, {_pct(cal.mean_realised)} realised "
                  f"(mean absolute error {100 * (cal.mean_absolute_error or 0):.1f} points)")
