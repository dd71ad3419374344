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
        ("cckpi worker, 1 process (events/s)", _n(r.get("cckpi_events_per_s")), ""),
        ("Quix Streams, same aggregates (events/s)", _n(r.get("quix_events_per_s")), ""),
        ("raw aiokafka + orjson, decode only (events/s)", _n(r.get("raw_events_per_s")), "ceiling"),
        ("cckpi / Quix", _n(ratio_q, "{:.2f}x"), ">= 2.5x"),
        ("cckpi / raw", _n(ratio_raw, "{:.3f}x"), ">= 0.2x"),
        *rounds_rows(r),
        ("cckpi, 2 processes in one group (events/s)", _n(r.get("cckpi_2_workers_events_per_s")), ""),
        ("2 workers / 1 worker (skewed bank queues)", _n(r.get("two_worker_speedup"), "{:.2f}x"), ""),
        ("  bound set by the queue -> partition skew", _n(r.get("two_worker_speedup_bound"), "{:.2f}x"), ""),
        *balanced_rows(r),
        *latency_rows(r),
        ("peak RSS of the worker", _mb(r.get("peak_rss_bytes")), ""),
        (f"RSS at {_n(r.get('rss_marks', [1_000_000, 5_000_000])[0])} events", _mb(r.get("rss_1m_bytes")), ""),
        (f"RSS at {_n(r.get('rss_marks', [1_000_000, 5_000_000])[-1])} events", _mb(r.get("rss_5m_bytes")), ""),
        ("RSS growth between them", _n(r.get("rss_growth_ratio"), "{:+.1%}"), "within 10%"),
    ]


def rounds_rows(r: dict[str, Any]) -> list[Row]:
    """The ratios of each throughput round (the figures above are their medians), when there were several."""
    rounds = r.get("throughput_rounds") or []
    if len(rounds) < 2:
        return []
    return [(f"  each of {len(rounds)} alternating rounds: cckpi / Quix",
             ", ".join(_n(x.get("cckpi_vs_quix"), "{:.2f}x") for x in rounds), "(median above)"),
            ("  each round: cckpi / raw", ", ".join(_n(x.get("cckpi_vs_raw"), "{:.3f}x") for x in rounds), "")]


LATENCY_TARGETS = {"2000": "< 0.25 s", "20000": "< 0.5 s"}
"""p99 targets of the latency runs, by rate."""


def latency_rows(r: dict[str, Any]) -> list[Row]:
    """p50/p99 and close delay of each latency run (`latency_by_rate`; older results: the top-level keys)."""
    runs = r.get("latency_by_rate") or ({"2000": r} if "p99_latency_s" in r else {})
    out: list[Row] = []
    for rate, x in runs.items():
        out += [
            (f"latency at {_n(float(rate))} events/s: sent (events/s)", _n(x.get("latency_rate_events_per_s")), ""),
            ("  p50 / p99 produce -> window/breach record (s)",
             f"{_n(x.get('p50_latency_s'), '{:.3f}')} / {_n(x.get('p99_latency_s'), '{:.3f}')}",
             f"p99 {LATENCY_TARGETS.get(rate, '')}"),
            ("  records timed", _n(x.get("latency_records_timed")), ""),
            ("  worker close delay p99 (s, its histogram)", _n(x.get("close_delay_p99_s"), "{:.3f}"), ""),
        ]
    return out


def balanced_rows(r: dict[str, Any]) -> list[Row]:
    """The balanced scale-out step: rates, speedup and its bounds, and the cores the processes kept busy."""
    if "balanced_events" not in r:
        return []
    busy = r.get("balanced_cores_busy", {})
    contracts = r.get("balanced_contracts") or 1
    shape = f"{contracts} contracts x {r.get('balanced_queues', 0) // contracts} queues"
    return [
        (f"balanced workload ({shape}, pooled terms) events", _n(r.get("balanced_events")), ""),
        ("  cckpi, 1 worker (events/s)", _n(r.get("cckpi_balanced_events_per_s")), ""),
        ("  cckpi, 2 workers in one group (events/s)", _n(r.get("cckpi_balanced_2_workers_events_per_s")), ""),
        ("  2 workers / 1 worker", _n(r.get("two_worker_speedup_balanced"), "{:.2f}x"), ">= 1.3x"),
        ("  bound set by the partition sizes", _n(r.get("two_worker_speedup_balanced_bound"), "{:.2f}x"), ""),
        ("  estimate with a core per worker + broker", _n(r.get("two_worker_speedup_balanced_free_cores_estimate"),
                                                           "{:.2f}x"), ""),
        ("  cores busy, 1 worker / 2 workers (of 2)",
         f"{_n(busy.get('1_worker'), '{:.2f}')} / {_n(busy.get('2_workers'), '{:.2f}')}", ""),
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
    console.print(markdown(r), markup=False, highlight=False, soft_wrap=True)  # one table row a line, to paste
