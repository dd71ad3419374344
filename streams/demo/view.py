"""The demo's live terminal view: KPI windows per queue and the latest breaches, read from the
worker's /metrics and the `cckpi.breaches` topic like any other consumer would."""

from __future__ import annotations

import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

Labels = tuple[str, str, str]  # contract, term, scope


@dataclass
class Snapshot:
    """What the worker's /metrics said at one moment."""

    current: dict[Labels, float] = field(default_factory=dict)
    last_closed: dict[Labels, float] = field(default_factory=dict)
    thresholds: dict[tuple[str, str], float] = field(default_factory=dict)
    units: dict[tuple[str, str], str] = field(default_factory=dict)
    breached: dict[Labels, float] = field(default_factory=dict)
    breaches: dict[Labels, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)


def scrape(url: str, timeout: float = 2.0) -> Snapshot:
    """Read and index the worker's /metrics."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        text = resp.read().decode()
    snap = Snapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            lab = sample.labels
            key = (lab.get("contract", ""), lab.get("term", ""), lab.get("scope", ""))
            name = sample.name
            if name.endswith("_threshold_ratio") or name.endswith("_threshold_seconds"):
                snap.thresholds[key[:2]] = sample.value
                snap.units[key[:2]] = "ratio" if name.endswith("ratio") else "seconds"
            elif "window" in lab and (name.endswith("_ratio") or name.endswith("_seconds")):
                (snap.current if lab["window"] == "current" else snap.last_closed)[key] = sample.value
            elif name == "cckpi_term_breached":
                snap.breached[key] = sample.value
            elif name == "cckpi_breaches_total":
                snap.breaches[key] = sample.value
            elif name in ("cckpi_events_total", "cckpi_dead_letters_total", "cckpi_events_late_total",
                          "cckpi_window_revisions_total", "cckpi_windows_closed_total"):
                snap.counters[name] = snap.counters.get(name, 0.0) + sample.value
    return snap


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if unit == "ratio" else f"{value:.1f} s"


def render(snap: Snapshot, recent: deque[dict[str, Any]], title: str) -> Group:
    """The screen: one row per term and queue, then counters, then the latest breaches."""
    table = Table(title=title, expand=True)
    for col in ("contract", "term", "queue", "current window", "last closed", "threshold", "state", "breaches"):
        table.add_column(col, justify="right" if col not in ("contract", "term", "queue") else "left")
    for key in sorted(set(snap.current) | set(snap.last_closed)):
        unit = snap.units.get(key[:2], "ratio")
        breached = snap.breached.get(key)
        state = Text("—") if breached is None else (
            Text("BREACHED", style="bold white on red") if breached else Text("met", style="green"))
        table.add_row(*key, _fmt(snap.current.get(key), unit), _fmt(snap.last_closed.get(key), unit),
                      _fmt(snap.thresholds.get(key[:2]), unit), state, f"{snap.breaches.get(key, 0):g}")
    c = snap.counters
    stats = Text(
        f"events {c.get('cckpi_events_total', 0):g}   windows closed {c.get('cckpi_windows_closed_total', 0):g}   "
        f"late {c.get('cckpi_events_late_total', 0):g}   revisions {c.get('cckpi_window_revisions_total', 0):g}   "
        f"dead letters {c.get('cckpi_dead_letters_total', 0):g}"
    )
    lines = Table.grid(padding=(0, 2))
    for b in recent:
        unit = b.get("unit", "ratio")
        style = {"breach": "bold red", "warning": "yellow"}.get(b.get("severity", ""), "green")
        if b.get("kind") == "ticket":
            lines.add_row(Text(f"ticket {b['ticket_id']}", style=style), f"{b['contract']}/{b['term']}",
                          f"deadline {b['deadline'][11:16]}", "missed", "")
            continue
        lines.add_row(Text(f"{b['window_start'][11:16]}-{b['window_end'][11:16]}", style=style),
                      f"{b['contract']}/{b['term']}", b["scope"],
                      f"{_fmt(b.get('value'), unit)} vs {_fmt(b['threshold'], unit)}",
                      Text(f"{b.get('state', '')} {b.get('status', '')}", style=style),
                      f"rev {b.get('window_revision', 0)}")
    return Group(table, stats, Panel(lines, title="latest breaches (cckpi.breaches: warning, breached, recovered, "
                                                  "final)", border_style="red"))
