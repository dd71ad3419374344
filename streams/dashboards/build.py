"""The four cckpi dashboards, generated from contracts.

1. `operations-wall.json`: live operations wall per queue (call KPIs, calls waiting, breach state);
2. `contract-attainment.json`: every term per period (last closed and period to date), windows by status,
   breaches and tickets past deadline;
3. `ticket-slas.json`: ticket terms, tickets past deadline, open tickets near their deadline;
4. `pipeline-health.json`: events, late, duplicates, dead letters, watermark age, batch duration, window close
   delay, consumer lag.

Panels exist per KPI kind the contracts' terms use. Contract lines come from the `cckpi_<kpi>_threshold_<unit>`
and `..._warning_<unit>` series, so a changed level needs no new dashboard; the levels of the contract files are
also written into the panels' thresholds (breach colouring), per term. Template variables: `datasource` (the
Prometheus), `contract` and `scope` (the queue; `all` for ticket, survey and availability terms), the names alert
links use. Annotations: the breached windows and missed tickets `cckpi grafana annotate` writes (tags `cckpi`,
`breach` or `ticket`, and the selected contract).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from streams.contracts.kpis import CATALOG, KpiSpec
from streams.contracts.model import Contract, Term
from streams.core.penalties import describe_penalty
from streams.dashboards.panels import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    THRESHOLD_PREFIX,
    UNITS,
    WARNING_PREFIX,
    Grid,
    Json,
    bargauge,
    contract_line_overrides,
    dashboard,
    level_steps,
    override,
    query_variable,
    stat,
    state_timeline,
    steps,
    tag_annotation,
    target,
    timeseries,
)

FILES = ("operations-wall.json", "contract-attainment.json", "ticket-slas.json", "pipeline-health.json")
UIDS = {"operations-wall.json": "cckpi-operations", "contract-attainment.json": "cckpi-attainment",
        "ticket-slas.json": "cckpi-tickets", "pipeline-health.json": "cckpi-pipeline"}
TAGS = ("cckpi",)
BREACH_STATES = {0: ("达标 met", GREEN), 1: ("违约 breached", RED)}
STATUS_COLORS = {"met": GREEN, "breached": RED, "insufficient_volume": GREY}
CONTRACT = 'contract="$contract"'
SCOPE = 'scope=~"$scope"'
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
BREACH_TAGS = ("cckpi", "breach", "$contract")
TICKET_TAGS = ("cckpi", "ticket", "$contract")
"""Tags of the annotations `cckpi grafana annotate` writes (streams.sinks.grafana), for the selected contract."""

Use = tuple[Contract, Term]
"""A term and the contract it belongs to."""


# --------------------------------------------------------------------------- what the contracts use


def kinds_used(contracts: Sequence[Contract]) -> dict[str, list[Use]]:
    """Terms per KPI kind, kinds in catalog order, terms in contract order (rolling terms get no panels yet)."""
    used: dict[str, list[Use]] = {}
    for name in CATALOG:
        uses = [(c, t) for c in contracts for t in c.terms if t.kpi == name and isinstance(t.window, str)]
        if uses:
            used[name] = uses
    return used


def value_expr(spec: KpiSpec, window: str) -> str:
    """The KPI's values for the selected contract (and queue, for call KPIs): window `current` or `last_closed`."""
    scope = f", {SCOPE}" if spec.source == "calls" else ""
    return f'{spec.metric()}{{{CONTRACT}{scope}, window="{window}"}}'


def level_text(spec: KpiSpec, value: float) -> str:
    """A contract level as people write it: 90%, 30 s, 80 points."""
    if spec.unit == "ratio":
        return f"{value * 100:g}%"
    return f"{value:g} s" if spec.unit == "seconds" else f"{value:g}"


def term_line(spec: KpiSpec, contract: Contract, term: Term) -> str:
    """One term in a panel description: `demo/answer-rate-15m: >= 90% (warning 93%) per 15m, clause 3.1 a)`."""
    sign = ">=" if spec.higher_is_better else "<="
    text = f"{contract.id}/{term.id}: {sign} {level_text(spec, term.threshold)}"
    if term.warning is not None:
        text += f" (warning {level_text(spec, term.warning)})"
    text += f" per {term.window}"
    return text + (f", clause {term.clause}" if term.clause else "")


def describe(spec: KpiSpec, uses: Sequence[Use], what: str) -> str:
    """Panel description: what is shown, the KPI's definition and every term's contract level."""
    lines = "\n".join(f"- {term_line(spec, c, t)}" for c, t in uses)
    return f"{what}\n\n{spec.title}: {spec.definition}.\n\nContract terms:\n{lines}"


def term_thresholds(spec: KpiSpec, uses: Sequence[Use]) -> tuple[Json, list[Json]]:
    """Panel thresholds from the contract files: the first term's as default, and one override per term id
    (series whose name ends with ` · <term>` or is the term)."""
    first = uses[0][1]
    default = level_steps(first.threshold, first.warning, spec.higher_is_better)
    overrides, seen = [], set()
    for _, term in uses:
        if term.id not in seen:
            seen.add(term.id)
            overrides.append(override(f"(^|.* · ){_regex_alternatives([term.id])}$",
                                      thresholds=level_steps(term.threshold, term.warning, spec.higher_is_better)))
    return default, overrides


def _range(spec: KpiSpec) -> tuple[float | None, float | None]:
    return (0.0, 1.0) if spec.unit == "ratio" else ((0.0, None) if spec.unit == "seconds" else (None, None))


def _decimals(spec: KpiSpec) -> int:
    return 1 if spec.unit == "ratio" else (0 if spec.unit == "seconds" else 1)


def _regex_alternatives(values: Iterable[str]) -> str:
    """`a|b|c` for a PromQL `=~` matcher; term ids and metric names need no escaping (checked)."""
    values = list(values)
    for value in values:
        if not _PLAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain identifier")
    return "|".join(values)


# --------------------------------------------------------------------------- shared panels


def kpi_stat(spec: KpiSpec, uses: Sequence[Use]) -> Json:
    """Period-to-date value per term (and queue), coloured by the contract levels."""
    default, overrides = term_thresholds(spec, uses)
    legend = "{{scope}} · {{term}}" if spec.source == "calls" else "{{term}}"
    return stat(f"{spec.titles} · 本期 Period to date", [target(value_expr(spec, "current"), legend)],
                unit=UNITS[spec.unit], decimals=_decimals(spec), thresholds=default, overrides=overrides,
                description=describe(spec, uses, "Value of the open window so far (period to date)."))


def kpi_timeseries(spec: KpiSpec, uses: Sequence[Use]) -> Json:
    """Period-to-date value over time with the contract's threshold and warning lines."""
    default, overrides = term_thresholds(spec, uses)
    legend = "{{scope}} · {{term}}" if spec.source == "calls" else "{{term}}"
    targets = [target(value_expr(spec, "current"), legend, "A"),
               target(f"{spec.metric('threshold')}{{{CONTRACT}}}", f"{THRESHOLD_PREFIX} · {{{{term}}}}", "B")]
    if any(t.warning is not None for _, t in uses):
        targets.append(target(f"{spec.metric('warning')}{{{CONTRACT}}}", f"{WARNING_PREFIX} · {{{{term}}}}",
                              "C"))
    low, high = _range(spec)
    return timeseries(spec.titles, targets, unit=UNITS[spec.unit], decimals=_decimals(spec),
                      thresholds=default, overrides=[*overrides, *contract_line_overrides()], minimum=low,
                      maximum=high, threshold_area=True,
                      description=describe(spec, uses, "Period-to-date value; dashed lines: the contract's "
                                           "threshold (red) and warning level (orange), from the metrics."))


def breach_state(selector: str, legend: str, title: str = "违约状态 Breach state") -> Json:
    """Met / breached state of the last closed window of each term over time."""
    return state_timeline(title, [target(f"cckpi_term_breached{{{selector}}}", legend)], states=BREACH_STATES,
                          description="State of the last closed window of each term: green met, red breached.")


def breach_annotation() -> Json:
    """Windows of the selected contract that closed breached, over their window, on the time panels."""
    return tag_annotation("违约 Breaches", BREACH_TAGS, RED)


def ticket_annotation() -> Json:
    """Tickets of the selected contract that missed a deadline, at the deadline, on the time panels."""
    return tag_annotation("超时工单 Tickets past deadline", TICKET_TAGS, ORANGE)


def contract_variable() -> Json:
    """The contract: every contract whose terms the worker publishes levels for."""
    return query_variable("contract", "合同 Contract", 'label_values({__name__=~"cckpi_.+_threshold_.+"}, contract)')


def scope_variable(specs: Iterable[KpiSpec]) -> Json:
    """The queue (scope) of the selected contract's KPI series; `All` also matches `all` (non-call terms)."""
    names = _regex_alternatives(s.metric() for s in specs)
    return query_variable("scope", "队列 Queue", f'label_values({{__name__=~"{names}", {CONTRACT}}}, scope)',
                          multi=True, all_value=".*")


# --------------------------------------------------------------------------- the dashboards


def operations_wall(used: dict[str, list[Use]]) -> Json | None:
    """Live operations wall per queue: call KPIs now and over time, calls waiting, breach state."""
    calls = [CATALOG[k] for k in used if CATALOG[k].source == "calls"]
    if not calls:
        return None
    grid = Grid()
    waiting_now = stat("排队来电 Calls waiting", [target(f"sum by (scope) (cckpi_calls_waiting{{{SCOPE}}})",
                                                         "{{scope}}")],
                       unit="none", decimals=0, thresholds=steps((BLUE, None)),
                       description="Calls offered and not yet answered or abandoned, per queue.")
    grid.row([*(kpi_stat(s, used[s.name]) for s in calls), waiting_now], height=5)
    grid.rows([kpi_timeseries(s, used[s.name]) for s in calls], per_row=2, height=8)
    waiting = timeseries("排队来电 Calls waiting", [target(f"sum by (scope) (cckpi_calls_waiting{{{SCOPE}}})",
                                                          "{{scope}}")],
                         unit="none", decimals=0, minimum=0,
                         description="Calls offered and not yet answered or abandoned, per queue.")
    grid.row([waiting, breach_state(f"{CONTRACT}, {SCOPE}", "{{scope}} · {{term}}")], height=8)
    if "service_level" in used:
        grid.row(forecast_panels(used["service_level"]), height=8)
    return dashboard(UIDS["operations-wall.json"], "运营监控墙 Operations wall",
                     "Live call KPIs per queue against the contract: period-to-date values, threshold lines, "
                     "breach colouring, calls waiting.", grid.panels, [contract_variable(), scope_variable(calls)],
                     tags=[*TAGS, "operations"], refresh="10s", time_from="now-3h",
                     annotations=[breach_annotation()])


def forecast_panels(uses: Sequence[Use]) -> list[Json]:
    """Breach forecasts (streams.core.forecast): the next interval's service level at the current staffing against
    the contract line, agents staffed against agents needed, and what the period can still absorb."""
    spec = CATALOG["service_level"]
    default, overrides = term_thresholds(spec, uses)
    predicted = timeseries(
        "预测服务水平 Forecast service level",
        [target(f"cckpi_forecast_service_level_ratio{{{CONTRACT}, {SCOPE}}}", "{{scope}} · {{term}}", "A"),
         target(f"{spec.metric('threshold')}{{{CONTRACT}}}", f"{THRESHOLD_PREFIX} · {{{{term}}}}", "B")],
        unit=UNITS["ratio"], decimals=1, thresholds=default, overrides=[*overrides, *contract_line_overrides()],
        minimum=0.0, maximum=1.0, threshold_area=True,
        description=describe(spec, uses, "Service level the queue model (Erlang C, or Erlang A when callers "
                             "abandon) predicts for the next 30 minutes from the smoothed arrival rate, handle "
                             "time and the agents ready now; the dashed line is the contract's threshold."))
    agents = timeseries(
        "坐席 Agents staffed / needed",
        [target(f"cckpi_forecast_agents_staffed{{{SCOPE}}}", "{{scope}} · staffed", "A"),
         target(f"max by (scope) (cckpi_forecast_agents_needed{{{CONTRACT}, {SCOPE}}})", "{{scope}} · needed", "B")],
        unit="none", decimals=0, minimum=0,
        description="Agents ready to take calls (agent state events) and the fewest agents that meet the "
                    "strictest service level or ASA term of the queue in the next 30 minutes.")
    budget = stat(
        "余量 Budget: bad contacts left",
        [target(f"cckpi_forecast_budget_contacts{{{CONTRACT}, {SCOPE}}}", "{{scope}} · {{term}}")],
        unit="none", decimals=0, thresholds=steps((RED, None), (ORANGE, 0), (GREEN, 10)),
        description="Ratio terms: how many more bad contacts (late, abandoned) the open window can absorb before "
                    "its target is out of reach, with the calls expected until its end at the current rate; "
                    "negative: out of reach even if every other call is good.")
    return [predicted, agents, budget]


def attainment_bars(spec: KpiSpec, uses: Sequence[Use]) -> Json:
    """Last closed period and period to date per term, against the contract levels."""
    default, overrides = term_thresholds(spec, uses)
    scoped = "{{scope}} · " if spec.source == "calls" else ""
    low, high = _range(spec)
    return bargauge(f"{spec.titles} · 考核期 Period",
                    [target(value_expr(spec, "last_closed"), f"上期 Last · {scoped}{{{{term}}}}", "A"),
                     target(value_expr(spec, "current"), f"本期 Now · {scoped}{{{{term}}}}", "B")],
                    unit=UNITS[spec.unit], decimals=_decimals(spec), thresholds=default, overrides=overrides,
                    minimum=low, maximum=high,
                    description=describe(spec, uses, "Last: the last closed window (period); now: the open "
                                         "window so far."))


def penalties_text(used: dict[str, list[Use]]) -> str:
    """The contract's penalty per breached window of each term that has one."""
    lines = [f"- {c.id}/{t.id}: {describe_penalty(t.penalty)}" for uses in used.values()
             for c, t in uses if t.penalty is not None]
    return "违约金 Penalties (contract files):\n" + "\n".join(lines) if lines else ""


def contract_attainment(used: dict[str, list[Use]]) -> Json:
    """Every term per period: values against the levels, windows by status, breaches, tickets past deadline."""
    specs = [CATALOG[k] for k in used]
    grid = Grid()
    grid.row([breach_state(f"{CONTRACT}, {SCOPE}", "{{term}} · {{scope}}")], height=6)
    grid.rows([attainment_bars(s, used[s.name]) for s in specs], per_row=3, height=8)
    closed = f"cckpi_windows_closed_total{{{CONTRACT}, status"
    by_status = bargauge(
        "考核窗口 Windows by status", [target(f'round(sum by (term, status) (increase({closed}=~".+"}}[$__range])))',
                                             "{{term}} · {{status}}")],
        unit="none", decimals=0, thresholds=steps((BLUE, None)),
        overrides=[override(f".* · {s}$", color={"mode": "fixed", "fixedColor": c}) for s, c in STATUS_COLORS.items()],
        description="Windows closed in the dashboard's time range, each once, by its verdict when it first closed "
        "(revisions do not count again; they are on the pipeline-health dashboard).")
    met_share = bargauge(
        "达成率 Windows met",
        [target(f'sum by (term) (increase({closed}="met"}}[$__range])) / '
                f'(sum by (term) (increase({closed}=~"met|breached"}}[$__range])) > 0)', "{{term}}")],
        unit="percentunit", decimals=1, minimum=0, maximum=1, thresholds=steps((RED, None), (ORANGE, 0.8),
                                                                               (GREEN, 1.0)),
        description="Share of judged windows (met or breached when they first closed) that met the contract, in "
        "the time range.")
    breached = bargauge(
        "违约窗口 Breached windows",
        [target(f"round(sum by (term) (increase(cckpi_breaches_total{{{CONTRACT}, {SCOPE}}}[$__range])))", "{{term}}")],
        unit="none", decimals=0, thresholds=steps((GREEN, None), (RED, 1)),
        description="Windows breached in the time range, each once (a revision of a breached window does not count "
        "again; revisions are on the pipeline-health dashboard).\n\n" + penalties_text(used))
    grid.row([by_status, met_share, breached], height=8)
    trend = timeseries(
        "违约趋势 Breaches over time",
        [target(f"sum by (term) (increase(cckpi_breaches_total{{{CONTRACT}, {SCOPE}}}[$__rate_interval]))",
                "{{term}}")], unit="none", minimum=0, bars=True,
        description="Windows breached per interval, each once (when it first closes or is revised as breached).")
    row = [trend]
    if any(s.source == "tickets" for s in specs):
        row.append(tickets_past_deadline())
    penalty = penalties(used)
    if penalty is not None:
        row.append(penalty)
    grid.row(row, height=8)
    ticket_annotations = [ticket_annotation()] if any(s.source == "tickets" for s in specs) else []
    return dashboard(UIDS["contract-attainment.json"], "合同达成 Contract attainment",
                     "Each contract term per period: last closed and period-to-date values against the contract "
                     "levels, windows by verdict, breaches.", grid.panels,
                     [contract_variable(), scope_variable(specs)], tags=[*TAGS, "contracts"], refresh="1m",
                     time_from="now-7d", annotations=[breach_annotation(), *ticket_annotations])


def penalties(used: dict[str, list[Use]]) -> Json | None:
    """Money booked per settlement month after caps and cures, as `cckpi ledger-exporter` settles every breach
    (`cckpi_penalties_booked`); only for dashboards whose contracts price a term."""
    if not any(t.penalty is not None for uses in used.values() for _, t in uses):
        return None
    booked = target(f"sum by (period, currency) (cckpi_penalties_booked{{{CONTRACT}}})", "{{period}} ({{currency}})")
    return bargauge("违约金 Penalties booked", [booked], unit="none", decimals=2,
                    thresholds=steps((GREEN, None), (RED, 0.01)),
                    description="Money the ledger books in each settlement month after caps and cures, as `cckpi "
                    "ledger` and the statements (from `cckpi ledger-exporter`, which settles every breach on "
                    "cckpi.breaches; a worker's `cckpi_penalties_priced` is before caps and cures).\n\n"
                    + penalties_text(used))


def tickets_past_deadline() -> Json:
    """Tickets that missed a term's time limit, in the time range."""
    return bargauge("超时工单 Tickets past deadline",
                    [target(f"round(sum by (term) (increase(cckpi_ticket_breaches_total{{{CONTRACT}}}[$__range])))",
                            "{{term}}")],
                    unit="none", decimals=0, thresholds=steps((GREEN, None), (RED, 1)),
                    description="Tickets that missed a term's time limit in the time range (each is a "
                    "`kind: ticket` record on cckpi.breaches).")


def ticket_slas(used: dict[str, list[Use]]) -> Json | None:
    """Ticket terms now and over time, tickets past deadline, open tickets near their deadline."""
    specs = [CATALOG[k] for k in used if CATALOG[k].source == "tickets"]
    if not specs:
        return None
    ids = _regex_alternatives(dict.fromkeys(t.id for s in specs for _, t in used[s.name]))
    grid = Grid()
    near = bargauge("4 小时内到期的未结工单 Open tickets due within 4 h",
                    [target(f'sum by (term) (cckpi_tickets_open{{{CONTRACT}, due_within=~"1h|4h"}})', "{{term}}")],
                    unit="none", decimals=0, thresholds=steps((GREEN, None), (ORANGE, 1)),
                    description="Open ticket clocks whose deadline is less than 4 hours away (tickets' event time).")
    grid.row([*(kpi_stat(s, used[s.name]) for s in specs), near], height=5)
    grid.rows([kpi_timeseries(s, used[s.name]) for s in specs], per_row=2, height=8)
    open_by_due = timeseries(
        "未结工单 Open tickets by time left",
        [target(f"sum by (due_within) (cckpi_tickets_open{{{CONTRACT}}})", "{{due_within}}")],
        unit="none", decimals=0, minimum=0, stacked=True,
        overrides=[override("^1h$", color={"mode": "fixed", "fixedColor": RED}),
                   override("^4h$", color={"mode": "fixed", "fixedColor": ORANGE}),
                   override("^24h$", color={"mode": "fixed", "fixedColor": "yellow"}),
                   override("^later$", color={"mode": "fixed", "fixedColor": GREEN})],
        description="Open ticket clocks by time left to the deadline: within 1 h, 1-4 h, 4-24 h, later.")
    missed = timeseries(
        "超时工单趋势 Tickets past deadline over time",
        [target(f"sum by (term) (increase(cckpi_ticket_breaches_total{{{CONTRACT}}}[$__rate_interval]))",
                "{{term}}")], unit="none", minimum=0, bars=True,
        description="Tickets that missed a term's time limit, per interval.")
    grid.row([open_by_due, missed], height=8)
    grid.row([tickets_past_deadline(), breach_state(f'{CONTRACT}, term=~"{ids}"', "{{term}}")], height=7)
    return dashboard(UIDS["ticket-slas.json"], "工单时效 Ticket SLAs",
                     "Ticket terms (first response, resolution, ...) against the contract, tickets past their "
                     "deadline and open tickets near it.", grid.panels, [contract_variable()],
                     tags=[*TAGS, "tickets"], refresh="30s", time_from="now-24h",
                     annotations=[ticket_annotation()])


def _quantiles(metric: str) -> list[Json]:
    return [target(f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket[$__rate_interval])))", f"p{p}", r)
            for q, p, r in ((0.5, 50, "A"), (0.95, 95, "B"))]


def pipeline_health() -> Json:
    """Throughput, late, duplicate and dead-lettered input, watermark age, processing times, consumer lag."""
    grid = Grid()
    per_s = "suffix: /s"
    events = timeseries("事件吞吐 Events by type", [target(
        "sum by (type) (rate(cckpi_events_total[$__rate_interval]))", "{{type}}")], unit=per_s, minimum=0,
        description="Valid events processed per second, by event type.")
    dead = timeseries("死信 Dead letters by reason", [target(
        "sum by (reason) (rate(cckpi_dead_letters_total[$__rate_interval]))", "{{reason}}")], unit=per_s, minimum=0,
        description="Messages sent to cckpi.dead-letter per second, by reason (malformed, wrong key, too late, ...).")
    grid.row([events, dead], height=8)
    late = timeseries("迟到事件 Late contributions", [target(
        f"sum by (outcome) (rate(cckpi_events_late_total{{{CONTRACT}}}[$__rate_interval]))", "{{outcome}}")],
        unit=per_s, minimum=0,
        description="Contributions to already closed windows: revised (within retention) or dropped.")
    duplicates = timeseries("重复事件 Duplicates", [target(
        "rate(cckpi_events_duplicate_total[$__rate_interval])", "duplicates")], unit=per_s, minimum=0,
        description="Events whose id was already counted (ignored).")
    revisions = timeseries("窗口修订 Window revisions", [target(
        f"sum by (term) (rate(cckpi_window_revisions_total{{{CONTRACT}}}[$__rate_interval]))", "{{term}}")],
        unit=per_s, minimum=0, description="Revisions of closed windows: records with revision >= 1 on "
        "cckpi.kpi-windows (a late event changed a published window).")
    grid.row([late, duplicates, revisions], height=7)
    watermark = timeseries("水位延迟 Watermark age", [target(
        f"time() - cckpi_watermark_timestamp_seconds{{{SCOPE}}}", "{{scope}}")], unit="s",
        description="Wall clock minus the event-time watermark of each queue (and of the ticket, survey and "
        "availability clocks): how far event time is behind.")
    lag = timeseries("消费延迟 Consumer lag", [target(
        "sum by (topic, partition) (cckpi_consumer_lag_messages)", "{{topic}} [{{partition}}]")], unit="none",
        decimals=0, minimum=0, description="Messages in each assigned source partition not processed yet "
        "(cckpi.calls: highwater minus the committed offset; the other topics: minus the fetch position).")
    grid.row([watermark, lag], height=8)
    batch = timeseries("批处理耗时 Batch duration", _quantiles("cckpi_batch_duration_seconds"), unit="s", minimum=0,
                       description="Time from consuming a batch to its outputs and state acknowledged (p50, p95).")
    close = timeseries("窗口关闭延迟 Window close delay", _quantiles("cckpi_window_close_delay_seconds"), unit="s",
                       minimum=0, description="From consuming a batch or tick to having sent the windows it closed "
                       "(p50, p95).")
    grid.row([batch, close], height=8)
    scope = query_variable("scope", "队列 Queue", "label_values(cckpi_watermark_timestamp_seconds, scope)",
                           multi=True, all_value=".*")
    return dashboard(UIDS["pipeline-health.json"], "数据管道健康 Pipeline health",
                     "Health of the cckpi worker: input, lateness, dead letters, event-time progress, "
                     "processing times and consumer lag.", grid.panels, [contract_variable(), scope],
                     tags=[*TAGS, "pipeline"], refresh="10s", time_from="now-1h")


def build_dashboards(contracts: Sequence[Contract]) -> dict[str, Json]:
    """File name -> dashboard model; a dashboard whose KPIs no contract uses is left out."""
    used = kinds_used(contracts)
    boards = {"operations-wall.json": operations_wall(used), "contract-attainment.json": contract_attainment(used),
              "ticket-slas.json": ticket_slas(used), "pipeline-health.json": pipeline_health()}
    return {name: board for name, board in boards.items() if board is not None}


def render(board: Json) -> str:
    """The dashboard file's text: stable, human-diffable JSON."""
    return json.dumps(board, ensure_ascii=False, indent=2) + "\n"


def write_dashboards(contracts: Sequence[Contract], out: Path) -> list[Path]:
    """Write the dashboards into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in build_dashboards(contracts).items():
        path = out / name
        path.write_text(render(board), encoding="utf-8")
        written.append(path)
    return written


def outdated(contracts: Sequence[Contract], out: Path) -> list[str]:
    """Dashboard files in `out` that differ from what `build_dashboards` makes (or are missing, or left over)."""
    expected = {name: render(board) for name, board in build_dashboards(contracts).items()}
    problems = [name for name, text in expected.items()
                if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    problems += [name for name in FILES if name not in expected and (out / name).exists()]
    return problems
