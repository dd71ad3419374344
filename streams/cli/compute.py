"""`cckpi compute`: the KPI core in batch over an events file (or real source files), printing every closed window."""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from streams.cli.common import contracts_or_exit
from streams.cli.inputs import adapter_errors_exit, events_or_exit, report_unjudged
from streams.cli.options import EVENTS_HELP, SOURCE_HELP, ContractFiles, Timezone
from streams.core.batch import compute
from streams.core.records import WindowResult
from streams.core.terms import compile_terms


class Format(StrEnum):
    """Output formats of `cckpi compute` (the names `cckpi ledger` and `cckpi forecast` use; `jsonl` is the old
    spelling of `json`: here one JSON record per line)."""

    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    table = "table"


def compute_command(
    contract: ContractFiles,
    events: Annotated[Path | None, typer.Option(help=EVENTS_HELP, show_default=False)] = None,
    source: Annotated[str | None, typer.Option(
        help=SOURCE_HELP + " Read FILE... through it instead of --events.", show_default=False)] = None,
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE", help="Source files for --source, oldest first.", exists=True, dir_okay=False,
        readable=True, show_default=False)] = None,
    timezone: Timezone = None,
    format: Annotated[Format, typer.Option(
        "--format", help="Output format: json (one record per line; `jsonl` is accepted too), csv or table.")
        ] = Format.json,
) -> None:
    """Compute every window of every term from an events file, or from real source files through an adapter,
    exactly as the stream would.

    Prints one record per closed window (and revision) with the fields of `cckpi.kpi-windows`. Give either
    `--events FILE.jsonl` (`-`: standard input) or `--source NAME` followed by the source files, not both. Events
    the worker would dead-letter (days the calendar cannot classify) are left out, and events outside a
    contract's effective period are not judged; both are counted on stderr.

    **Examples**

    - `cckpi compute -c contracts/examples/demo.yaml --events calls.jsonl`
    - `cckpi compute -c contracts/examples/demo.yaml --events calls.jsonl --format table`
    - `gunzip -c calls.jsonl.gz | cckpi compute -c contracts/examples/demo.yaml --events -`
    - `cckpi compute -c contracts/examples/anonymous-bank.yaml --source anonymous-bank data/01_January.txt`
    """
    err = Console(stderr=True)
    terms = compile_terms(contracts_or_exit(contract))
    with adapter_errors_exit(err):
        outputs = compute(events_or_exit(events, source, files, timezone, err), terms)
    report_unjudged(outputs, err)
    results = [r for r in outputs if isinstance(r, WindowResult)]
    rows = [r.to_dict() for r in results]
    if format in (Format.json, Format.jsonl):
        for row in rows:
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
    elif format is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["key"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("contract", "term", "scope", "window", "value", "num/den", "threshold", "status", "rev")
        for r in results:
            value = "-" if r.value is None else (f"{r.value:.1%}" if r.unit == "ratio" else f"{r.value:.1f}s")
            style = {"breached": "red", "met": "green"}.get(r.status, "yellow")
            table.add_row(r.contract, r.term, r.scope, f"{r.window_start[:16]} → {r.window_end[:16]}", value,
                          f"{r.numerator:g}/{r.denominator:g}", f"{r.threshold:g}", f"[{style}]{r.status}",
                          str(r.revision))
        console = Console()
        Console(width=max(console.width, 160)).print(table)
