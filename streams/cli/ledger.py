"""`cckpi ledger`: penalties booked by final breaches, totals, and escalation rights reached, for a period."""

from __future__ import annotations

import asyncio
import csv
import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from streams.app import topics
from streams.app.admin import ensure_topics
from streams.app.settings import bootstrap_servers
from streams.cli.common import EVENTS_HELP, ContractFiles, PeriodOption, contracts_or_exit
from streams.cli.errors import UserError
from streams.cli.inputs import adapter_errors_exit, events_or_exit, is_stdin, report_unjudged
from streams.cli.replay import SOURCE_HELP, Timezone
from streams.cli.topic_read import read_topic
from streams.core.batch import compute
from streams.core.records import BreachUpdate
from streams.core.terms import compile_terms
from streams.ledger import Escalation, build_ledger, in_period


class Format(StrEnum):
    """Output formats of `cckpi ledger`."""

    table = "table"
    csv = "csv"
    json = "json"


async def _publish(bootstrap: str, escalations: list[Escalation]) -> None:
    await ensure_topics(bootstrap, [topics.ESCALATIONS])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for x in escalations:
            value = orjson.dumps({"schema_version": 1, **asdict(x)})
            await producer.send_and_wait(topics.ESCALATIONS, key=x.escalation_id.encode(), value=value)
    finally:
        await producer.stop()


_WINDOW_BREACH = {"kind", "breach_id", "revision", "state", "status", "contract", "term", "kpi", "scope",
                  "window_start", "window_end", "value", "threshold"}
"""Fields of a window breach record the ledger reads."""


def read_breaches(path: Path) -> list[dict[str, Any]]:
    """Breach records of a JSON-lines file (`-`: standard input); a line that is not a JSON object is a user
    error naming its line."""
    raw = sys.stdin.buffer.read() if is_stdin(path) else path.read_bytes()
    records = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"{path}:{n}: not JSON: {exc}") from None
        needed = _WINDOW_BREACH if isinstance(record, dict) and record.get("kind") == "window" else {"kind"}
        if not isinstance(record, dict) or not needed <= record.keys():
            missing = ", ".join(sorted(needed - record.keys())) if isinstance(record, dict) else "all"
            raise UserError(f"{path}:{n}: not a `cckpi.breaches` record (missing: {missing})")
        records.append(record)
    return records


def ledger_command(
    contract: ContractFiles,
    period: PeriodOption,
    broker: Annotated[str | None, typer.Option(help="Read `cckpi.breaches` from this broker.")] = None,
    breaches: Annotated[Path | None, typer.Option(
        help="Breach records as JSON lines (as on the topic; `-`: standard input).")] = None,
    events: Annotated[Path | None, typer.Option(help="Compute the breaches from these events. " + EVENTS_HELP)
                      ] = None,
    source: Annotated[str | None, typer.Option(help=SOURCE_HELP + " Compute the breaches from FILE...")] = None,
    files: Annotated[list[Path] | None, typer.Argument(metavar="FILE", help="Source files for --source.",
                                                       show_default=False)] = None,
    timezone: Timezone = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    publish_to: Annotated[str | None, typer.Option(
        help="Also publish the escalations reached to `cckpi.escalations` on this broker (idempotent keys).")] = None,
) -> None:
    """Show the penalty ledger of a period: each final breach once (its latest revision decides), the money per
    contract and currency, and the escalation rights reached (e.g. 3 breaches in a quarter: termination).

    The breaches come from the `cckpi.breaches` topic (`--broker`), a file of its records (`--breaches`), or are
    computed from events (`--events` or `--source NAME FILE...`). Replayed breaches are booked once.

    **Examples**

    - `cckpi ledger -c contracts/examples/helpdesk-sla.yaml --period 2026-10 --broker 127.0.0.1:9092`
    - `cckpi ledger -c contracts/examples/anonymous-bank.yaml --period 1999-03 --source anonymous-bank data/*.txt`
    - `cckpi ledger -c contracts/examples/demo.yaml --period 2026-Q4 --breaches breaches.jsonl --format csv`
    """
    err = Console(stderr=True)
    if sum(given is not None for given in (broker, breaches, events, source)) != 1:
        raise UserError("give exactly one of --broker URL, --breaches FILE, --events FILE or --source NAME FILE...")
    contracts = contracts_or_exit(contract)
    if broker is not None:
        records = asyncio.run(read_topic(bootstrap_servers(broker), topics.BREACHES))
    elif breaches is not None:
        records = read_breaches(breaches)
    else:
        with adapter_errors_exit(err):
            outputs = compute(events_or_exit(events, source, files, timezone, err), compile_terms(contracts))
        report_unjudged(outputs, err)
        records = [o.to_breach() for o in outputs if isinstance(o, BreachUpdate)]
    ledger = build_ledger(records, contracts)
    entries = [e for e in ledger.entries if in_period(e.window_start, period)]
    booked = {e.breach_id for e in entries}
    reached = [x for x in ledger.escalations if x.reached_by in booked]  # reached by a breach of this period
    if publish_to is not None:
        asyncio.run(_publish(bootstrap_servers(publish_to), reached))
    totals = {k: v for k, v in ledger.totals().items() if in_period(k[1] + "-01", period)}
    if format is Format.json:
        sys.stdout.buffer.write(orjson.dumps({
            "period": period,
            "entries": [{**asdict(e), "amount": str(e.amount)} for e in entries],
            "totals": [{"contract": c, "month": m, "currency": cur, "amount": str(a)} for (c, m, cur), a in
                       sorted(totals.items())],
            "escalations": [asdict(x) for x in reached],
        }, option=orjson.OPT_INDENT_2) + b"\n")
        return
    if format is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["breach_id", "contract", "term", "scope", "window_start", "window_end", "value", "threshold",
                         "amount", "currency"])
        for e in entries:
            writer.writerow([e.breach_id, e.contract, e.term, e.scope, e.window_start, e.window_end, e.value,
                             e.threshold, e.amount, e.currency])
        return
    table = Table("contract", "term", "scope", "window", "value", "threshold", "penalty", title=f"ledger {period}")
    for e in entries:
        value = "-" if e.value is None else f"{e.value:.4g}"
        table.add_row(e.contract, e.term, e.scope, f"{e.window_start[:16]} → {e.window_end[:16]}", value,
                      f"{e.threshold:g}", f"{e.amount} {e.currency}" if e.currency else "-")
    console = Console(width=max(Console().width, 140))
    console.print(table)
    for (c, month, currency), amount in sorted(totals.items()):
        console.print(f"total {c} {month}: {amount} {currency} ({sum(e.contract == c for e in entries)} breaches)")
    for x in reached:
        console.print(f"[bold red]escalation[/]: {x.contract}/{x.term or '*'} {x.breaches} breaches in {x.period}: "
                      f"{x.right}", highlight=False)
