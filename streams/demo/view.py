"""The demo's live terminal view, read from the worker's /metrics and the `cckpi.breaches` topic like any other
consumer would: the simulated clock; per term and scope the open window's value (and how it stands against the
contract) apart from the last closed window's verdict, with the forecaster's projection of the open window's end;
staffing against the agents the forecast needs; and the breaches, without the steps that say a window came out
fine (a window that closed met after a warning is no breach line).

Everything but `scrape` is pure, so the screen can be tested from constructed inputs. It fits an 80x24 terminal
(the breach list takes the lines left) and fills a wall screen.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich import box
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from streams.contracts.kpis import CATALOG, KpiSpec

Labels = tuple[str, str, str]
"""(contract, term, scope) of a series."""
TermKey = tuple[str, str]
"""(contract, term)."""

COUNTERS = ("cckpi_events_total", "cckpi_dead_letters_total", "cckpi_events_late_total",
            "cckpi_window_revisions_total", "cckpi_windows_closed_total")
_KPI_ORDER = {name: n for n, name in enumerate(CATALOG)}
_BY_METRIC: dict[str, tuple[KpiSpec, str | None]] = {
    spec.metric(level): (spec, level) for spec in CATALOG.values() for level in (None, "threshold", "warning")}
"""Every KPI gauge's name -> its KPI and level (None: the value of a window)."""
_PROJECTED = ("cckpi_forecast_projected_ratio", "cckpi_forecast_projected_seconds")


@dataclass
class Snapshot:
    """What the worker's /metrics say now."""

    current: dict[Labels, float] = field(default_factory=dict)
    last_closed: dict[Labels, float] = field(default_factory=dict)
    kpis: dict[TermKey, KpiSpec] = field(default_factory=dict)
    thresholds: dict[TermKey, float] = field(default_factory=dict)
    warnings: dict[TermKey, float] = field(default_factory=dict)
    breached: dict[Labels, float] = field(default_factory=dict)
    breaches: dict[Labels, float] = field(default_factory=dict)
    projected: dict[Labels, float] = field(default_factory=dict)
    """The forecaster's value of the open window at its end."""
    at_risk: dict[Labels, float] = field(default_factory=dict)
    needed: dict[Labels, float] = field(default_factory=dict)
    staffed: dict[str, float] = field(default_factory=dict)
    """Agents ready per queue (agent state events)."""
    watermarks: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)

    @property
    def clock(self) -> float | None:
        """The simulated clock: the furthest event-time watermark of any scope (epoch seconds)."""
        return max(self.watermarks.values(), default=None)

    def unit(self, key: TermKey) -> str:
        """The unit of a term's values (ratio until its KPI is known)."""
        spec = self.kpis.get(key)
        return spec.unit if spec else "ratio"


def parse(text: str) -> Snapshot:
    """Index a Prometheus text exposition of the worker."""
    snap = Snapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            _index(snap, sample.name, sample.labels, sample.value)
    return snap


def _index(snap: Snapshot, name: str, lab: Mapping[str, str], value: float) -> None:
    """File one sample of the exposition in the snapshot."""
    key: Labels = (lab.get("contract", ""), lab.get("term", ""), lab.get("scope", ""))
    kpi = _BY_METRIC.get(name)
    if kpi is not None:
        spec, level = kpi
        snap.kpis[key[:2]] = spec
        if level is not None:
            (snap.thresholds if level == "threshold" else snap.warnings)[key[:2]] = value
        elif "window" in lab:
            (snap.current if lab["window"] == "current" else snap.last_closed)[key] = value
        return
    target = {"cckpi_term_breached": snap.breached, "cckpi_breaches_total": snap.breaches,
              "cckpi_forecast_at_risk": snap.at_risk, "cckpi_forecast_agents_needed": snap.needed,
              **dict.fromkeys(_PROJECTED, snap.projected)}.get(name)
    if target is not None:
        target[key] = value
    elif name == "cckpi_forecast_agents_staffed":
        snap.staffed[key[2]] = value
    elif name == "cckpi_watermark_timestamp_seconds":
        snap.watermarks[key[2]] = value
    elif name in COUNTERS:
        snap.counters[name] = snap.counters.get(name, 0.0) + value


def scrape(url: str, timeout: float = 2.0) -> Snapshot:
    """Read and index the worker's /metrics."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return parse(resp.read().decode())


# --------------------------------------------------------------------------- judging and formatting


def fmt(value: float | None, unit: str) -> str:
    """A KPI value as the view shows it: 87.5%, 31.2 s, 4.12 points or an NPS score; `-` when unknown."""
    if value is None:
        return "-"
    return {"ratio": f"{value:.1%}", "seconds": f"{value:.1f} s", "points": f"{value:.2f}"}.get(unit, f"{value:+.0f}")


def standing(value: float | None, threshold: float | None, warning: float | None, higher_is_better: bool) -> str:
    """How a value stands against the contract's levels: ok, warn, breach, or `-` when either is unknown."""
    if value is None or threshold is None:
        return "-"

    def worse(level: float) -> bool:
        return value < level if higher_is_better else value > level

    if worse(threshold):
        return "breach"
    return "warn" if warning is not None and worse(warning) else "ok"


STYLES = {"ok": "green", "met": "green", "warn": "yellow", "breach": "bold red", "BREACH": "bold white on red",
          "-": "dim"}


def _cell(value: float | None, unit: str, word: str) -> Text:
    return Text(f"{fmt(value, unit)} {word}" if value is not None else "-", style=STYLES.get(word, ""))


def _target(spec: KpiSpec | None, threshold: float | None, unit: str) -> str:
    """The contract's level, short: >=90%, <=30 s, >=4 points."""
    if threshold is None:
        return "-"
    short = {"ratio": f"{threshold * 100:g}%", "seconds": f"{threshold:g} s"}.get(unit, f"{threshold:g}")
    return f"{'>=' if spec is None or spec.higher_is_better else '<='}{short}"


def row_order(snap: Snapshot) -> list[Labels]:
    """Every (contract, term, scope) with a window, the KPI catalog's order (calls first), then by name."""
    keys = set(snap.current) | set(snap.last_closed)

    def order(key: Labels) -> tuple[int, str, str, str]:
        spec = snap.kpis.get(key[:2])
        return (_KPI_ORDER.get(spec.name, len(_KPI_ORDER)) if spec else len(_KPI_ORDER), *key)

    return sorted(keys, key=order)


def term_row(snap: Snapshot, key: Labels, with_contract: bool) -> list[str | Text]:
    """One term and scope: the open window (value and standing), its projected end, the last closed window's
    verdict, the target and the breaches counted."""
    spec, unit = snap.kpis.get(key[:2]), snap.unit(key[:2])
    threshold, warning = snap.thresholds.get(key[:2]), snap.warnings.get(key[:2])
    now = snap.current.get(key)
    word = standing(now, threshold, warning, spec.higher_is_better if spec else True)
    projected = snap.projected.get(key)
    forecast = Text("-", style="dim") if projected is None else Text(
        fmt(projected, unit) + ("!" if snap.at_risk.get(key) else ""),
        style="bold yellow" if snap.at_risk.get(key) else "")
    breached = snap.breached.get(key)
    verdict = "-" if breached is None else "BREACH" if breached else "met"
    term = f"{key[0]}/{key[1]}" if with_contract else key[1]
    return [term, key[2], _cell(now, unit, word), forecast, _cell(snap.last_closed.get(key), unit, verdict),
            _target(spec, threshold, unit), f"{snap.breaches.get(key, 0):g}"]


def terms_table(snap: Snapshot) -> Table:
    """The table of terms: one row per term and scope."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  expand=True)
    for col, justify in (("term", "left"), ("scope", "left"), ("open window", "right"), ("forecast", "right"),
                         ("last closed", "right"), ("target", "right"), ("br.", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    rows = row_order(snap)
    with_contract = len({k[0] for k in rows}) > 1
    for key in rows:
        table.add_row(*term_row(snap, key, with_contract))
    return table


def staffing_line(snap: Snapshot) -> Text:
    """Agents ready per queue against the most any of its terms needs next (the forecaster's sizing)."""
    parts = []
    for queue in sorted(snap.staffed):
        need = max((v for k, v in snap.needed.items() if k[2] == queue), default=None)
        short = need is not None and need > snap.staffed[queue]
        parts.append(Text(f"{queue} {snap.staffed[queue]:g}" + ("" if need is None else f"/{need:g}"),
                          style="bold yellow" if short else ""))
    line = Text("agents ready/needed: ", style="dim")
    return line.append_text(Text("  ").join(parts) if parts else Text("-"))


def clock_line(snap: Snapshot, title: str, tz: tzinfo) -> Text:
    """The simulated clock and the pipeline's counters."""
    clock = snap.clock
    when = "waiting for events" if clock is None else datetime.fromtimestamp(clock, tz).strftime("%Y-%m-%d %H:%M")
    c = snap.counters
    line = Text(f"{when} ", style="bold cyan", no_wrap=True, overflow="ellipsis")
    return line.append(f"| {title} | events {c.get('cckpi_events_total', 0):g} windows "
                       f"{c.get('cckpi_windows_closed_total', 0):g} late {c.get('cckpi_events_late_total', 0):g} "
                       f"dead {c.get('cckpi_dead_letters_total', 0):g}")


# --------------------------------------------------------------------------- breaches


def is_breach_line(record: Mapping[str, Any]) -> bool:
    """A record the breach list shows: a ticket that missed its deadline or has a warning, or a window step observed
    as a warning or a breach. Not the steps saying a window is fine (recovered, final met) nor forecast warnings
    (the forecast column shows those)."""
    if record.get("kind") == "ticket":  # missed, or a warning not yet settled
        return record.get("status", "breached") != "settled"
    return record.get("basis", "observed") == "observed" and record.get("severity") in ("breach", "warning")


def remember(latest: dict[str, Mapping[str, Any]], records: Iterable[Mapping[str, Any]], keep: int = 200) -> None:
    """Fold breach records (in topic order) into the latest step per breach id, newest last; keeps `keep` ids."""
    for record in records:
        key = str(record.get("breach_id", ""))
        latest.pop(key, None)
        latest[key] = record
    for key in list(latest)[:max(0, len(latest) - keep)]:
        del latest[key]


def breach_lines(latest: Mapping[str, Mapping[str, Any]], limit: int) -> list[Text]:
    """The newest `limit` breach lines: each breach id once, in its latest state; an id whose latest step says the
    window is fine (it recovered, or closed met after a warning) has none."""
    shown = [r for r in reversed(list(latest.values())) if is_breach_line(r)]
    return [breach_line(r) for r in shown[:max(0, limit)]]


def _hhmm(iso: str) -> str:
    return iso[11:16]


def breach_line(record: Mapping[str, Any]) -> Text:
    """One breach: the window (or ticket), the term, the value against the threshold, where it stands."""
    if record.get("kind") == "ticket" and record.get("status") == "warning":
        return Text(f"ticket {record['ticket_id']} {record['term']} passed {record['share']:.0%} of its time",
                    style="yellow")
    if record.get("kind") == "ticket":
        return Text(f"ticket {record['ticket_id']} {record['term']} missed its {_hhmm(record['deadline'])} deadline",
                    style="red")
    unit = record.get("unit", "ratio")
    state = {"final": "closed", "breached": "open"}.get(record.get("state", ""), "open")
    severity = "BREACH" if record.get("severity") == "breach" else "warning"
    revision = f" rev {record['window_revision']}" if record.get("window_revision") else ""
    text = (f"{_hhmm(record['window_start'])}-{_hhmm(record['window_end'])} {record['term']} {record['scope']} "
            f"{fmt(record.get('value'), unit)} vs {fmt(record['threshold'], unit)} {severity} ({state}){revision}")
    return Text(text, style="bold red" if severity == "BREACH" else "yellow")


# --------------------------------------------------------------------------- the screen

FIXED_LINES = 6
"""Lines besides the term rows and the breach lines: clock, table header and rule, staffing, breach title, and the
line the cursor rests on."""


def render(snap: Snapshot, latest: Mapping[str, Mapping[str, Any]], title: str, tz: tzinfo,
           height: int | None = None) -> Group:
    """The screen: clock, terms, staffing, then as many breach lines as fit in `height` (None: eight)."""
    table = terms_table(snap)
    room = 8 if height is None else max(2, height - FIXED_LINES - table.row_count)
    lines = breach_lines(latest, room)
    return Group(clock_line(snap, title, tz), table, staffing_line(snap),
                 Rule("breaches: warnings and breaches, latest first", style="red", align="left"),
                 *(lines or [Text("none yet", style="dim")]))
