"""The benchmark's results as a rich table (terminal) and a markdown table (for the README)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

Row = tuple[str, str, str]


def _n(x: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def _mb(x: Any) -> str:
    return "-" if not x else f"{x / 2**20:,.0f} MiB"


def rows(r: dict[str, Any]) -> list[Row]:
    """(measure, value, target) rows of a results dict."""
    ratio_q = r.get("cckpi_vs_quix")
    ratio_raw = r.get("cckpi_vs_raw")
    return [
        ("events in the workload", _n(r.get("events")), ""),
        ("cckpi worker, 1 process (events/s)", _n(r.get("cckpi_events_per_s")), ">= 25,000"),
        ("Quix Streams, same aggregates (events/s)", _n(r.get("quix_events_per_s")), ""),
        ("raw aiokafka + orjson, decode only (events/s)", _n(r.get("raw_events_per_s")), "ceiling"),
        ("cckpi / Quix", _n(ratio_q, "{:.2f}x"), ">= 1.5x"),
        ("cckpi / raw", _n(ratio_raw, "{:.3f}x"), ""),
        ("cckpi, 2 processes in one group (events/s)", _n(r.get("cckpi_2_workers_events_per_s")), ""),
        ("2 workers / 1 worker", _n(r.get("two_worker_speedup"), "{:.2f}x"), ">= 1.7x"),
        ("  bound set by the queue -> partition skew", _n(r.get("two_worker_speedup_bound"), "{:.2f}x"), ""),
        ("p50 produce -> window/breach record (s)", _n(r.get("p50_latency_s"), "{:.3f}"), ""),
        ("p99 produce -> window/breach record (s)", _n(r.get("p99_latency_s"), "{:.3f}"), "< 1 s"),
        ("  at (events/s)", _n(r.get("latency_rate_events_per_s")), "2,000"),
        ("worker close delay p99 (s, its histogram)", _n(r.get("close_delay_p99_s"), "{:.3f}"), "< 1 s"),
        ("peak RSS of the worker", _mb(r.get("peak_rss_bytes")), ""),
        (f"RSS at {_n(r.get('rss_marks', [1_000_000, 5_000_000])[0])} events", _mb(r.get("rss_1m_bytes")), ""),
        (f"RSS at {_n(r.get('rss_marks', [1_000_000, 5_000_000])[-1])} events", _mb(r.get("rss_5m_bytes")), ""),
        ("RSS growth between them", _n(r.get("rss_growth_ratio"), "{:+.1%}"), "within 10%"),
    ]


def rich_table(r: dict[str, Any]) -> Table:
    """The results for the terminal."""
    quick = " (QUICK run: a fraction of the workload)" if r.get("quick") else ""
    table = Table(title=f"cckpi benchmark{quick}, worker {r.get('worker_commit', '?')}")
    for col in ("measure", "value", "target"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for row in rows(r):
        table.add_row(*row)
    return table


def markdown(r: dict[str, Any]) -> str:
    """The results as a markdown table, with the machine and the worker's commit under it."""
    lines = ["| measure | value | target |", "| --- | ---: | ---: |"]
    lines += [f"| {m.strip()} | {v} | {t} |" for m, v, t in rows(r)]
    m = r.get("machine", {})
    lines.append("")
    lines.append(f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gib', '?')} GiB, "
                 f"Python {m.get('python', '?')}, Kafka {m.get('kafka', '?')}, quixstreams {m.get('quixstreams', '?')};"
                 f" worker at commit {r.get('worker_commit', '?')}{' (QUICK run)' if r.get('quick') else ''}.")
    return "\n".join(lines)


def show(r: dict[str, Any], console: Console | None = None) -> None:
    """Print both tables."""
    console = console or Console()
    console.print(rich_table(r))
    console.print(markdown(r), markup=False, highlight=False)
