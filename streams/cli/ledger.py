"""`cckpi ledger`: penalties booked by final breaches, totals, and escalation rights reached, for a period."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from streams.cli.common import contracts_or_exit
from streams.cli.errors import UserError
from streams.cli.inputs import adapter_errors_exit, events_or_exit, report_unjudged
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import (
    EVENTS_HELP,
    SOURCE_HELP,
    ContractFiles,
    PeriodOption,
    Timezone,
    from_command_line,
    setting,
)
from streams.contracts.model import Contract
from streams.kafka_io import topics
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.publish import publish_records
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.ledger import Escalation, build_ledger
from streams.ledger.escalations import PeriodLedger, escalation_messages, ledger_of_period
from streams.report.records_source import (
    breaches_from_topic,
    from_batch,
    ledger_period,
    read_breaches,
    windows_from_topic,
)


class Format(StrEnum):
    """Output formats of `cckpi ledger`."""

    table = "table"
    csv = "csv"
    json = "json"


@with_kafka_security
def ledger_command(
    ctx: typer.Context,
    contract: ContractFiles,
    period: PeriodOption,
    broker: Annotated[str | None, setting("--broker", help="Read `cckpi.breaches` from this broker.")] = None,
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
    kafka_security: KafkaSecurity = PLAINTEXT,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Count the days of delay of tickets still open up to this instant (ISO 8601 with an offset, "
        "e.g. 2026-11-15T12:00:00+08:00) instead of the period's end.")] = None,
) -> None:
    """Show the penalty ledger of a period: each final breach once (its latest revision decides), the money per
    contract and currency, and the escalation rights reached (e.g. 3 breaches in a quarter: termination).

    The breaches come from the `cckpi.breaches` topic (`--broker`), a file of its records (`--breaches`), or are
    computed from events (`--events` or `--source NAME FILE...`). Replayed breaches are booked once.

    **Examples**

    - `cckpi ledger -c contracts/examples/helpdesk-sla.yaml --period 2026-10 --broker 127.0.0.1:9092`
    - `cckpi ledger -c contracts/examples/anonymous-bank.yaml --period 1999-03 --source anonymous-bank data/*.txt`
    - `cckpi ledger -c contracts/examples/demo.yaml --period 2026-Q4 --breaches breaches.jsonl --format csv`
    - `cckpi ledger -c contracts/examples/helpdesk-sla.yaml --period 2026-11 --breaches breaches.jsonl --as-of
      2026-11-15T12:00:00+08:00` (tickets still open count their days of delay up to then)
    """
    if not from_command_line(ctx, "broker") and any(given is not None for given in (breaches, events, source)):
        broker = None  # a source on the command line wins over CCKPI_BROKER
    if sum(given is not None for given in (broker, breaches, events, source)) != 1:
        raise UserError("give exactly one of --broker URL, --breaches FILE, --events FILE or --source NAME FILE...")
    contracts = contracts_or_exit(contract)
    until = _instant(as_of)
    broker = broker and bootstrap_servers(broker, kafka_security)
    records, windows = _breaches(contracts, period, broker, breaches, events, source, files, timezone)
    view = ledger_of_period(build_ledger(records, contracts, windows, period, until), period)
    if publish_to is not None:
        publish_records(bootstrap_servers(publish_to, kafka_security), topics.ESCALATIONS,
                        escalation_messages(view.escalations))
    {Format.json: _print_json, Format.csv: _print_csv, Format.table: _print_table}[format](view)


def _instant(text: str | None) -> datetime | None:
    """`--as-of` as an aware instant; a UserError for anything else."""
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise UserError(f"--as-of {text!r} needs an offset (e.g. +08:00)")
    return instant


def _breaches(contracts: list[Contract], period: str, broker: str | None, breaches: Path | None,
              events: Path | None, source: str | None, files: list[Path] | None,
              timezone: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The breach records of the one source given (the topic, refused when it no longer holds the period; a
    records file; or the batch engine), and the window records cure periods look at (none from a breaches file:
    a cure is then decided by breach records only)."""
    if broker is not None:
        span = ledger_period(contracts, period)
        cures = any(t.penalty and t.penalty.cure for c in contracts for t in c.terms)
        windows = windows_from_topic(bootstrap_servers(broker), period=span) if cures else []
        return breaches_from_topic(bootstrap_servers(broker), period=span), windows
    if breaches is not None:
        return read_breaches(breaches), []
    err = Console(stderr=True)
    with adapter_errors_exit(err):
        records = from_batch(events_or_exit(events, source, files, timezone, err), contracts)
    report_unjudged(records.left_out, err)
    return records.breaches, [p.record for p in records.windows]


def _print_json(view: PeriodLedger) -> None:
    sys.stdout.buffer.write(orjson.dumps(view.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")


def _print_csv(view: PeriodLedger) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["breach_id", "contract", "term", "scope", "window_start", "window_end", "value", "threshold",
                     "amount", "currency", "booked_in", "kind", "formula", "uncapped", "capped_by", "cure"])
    for e in view.entries:
        writer.writerow([e.breach_id, e.contract, e.term, e.scope, e.window_start, e.window_end, e.value,
                         e.threshold, e.amount, e.currency, e.booked_in, e.kind, e.formula, e.uncapped, e.caps_text,
                         e.cure.rule if e.cure else ""])


def _print_table(view: PeriodLedger) -> None:
    table = Table("booked", "contract", "term", "scope", "window", "value", "threshold", "formula", "penalty",
                  title=f"ledger {view.period}")
    for e in view.entries:
        value = "-" if e.value is None else f"{e.value:.4g}"
        money = f"{e.amount} {e.currency}" if e.currency else "-"
        if e.capped_by:
            money += f" (capped from {e.uncapped}: {e.caps_text})"
        table.add_row(e.booked_in, e.contract, e.term, e.scope, f"{e.window_start[:16]} → {e.window_end[:16]}",
                      value, f"{e.threshold:g}", e.formula or "-", money)
    console = Console(width=max(Console().width, 160))
    console.print(table)
    for (c, month, currency), amount in sorted(view.totals.items()):
        count = sum(e.contract == c and e.booked_in == month for e in view.entries)
        console.print(f"total {c} {month}: {amount} {currency} ({count} breaches)")
    for cure in view.cures:
        decided = f", decided by {cure.decided_by}" if cure.decided_by else ""
        console.print(f"cure {cure.outcome}: {cure.contract}/{cure.term} {cure.scope} {cure.window_start[:10]} "
                      f"({cure.rule}{decided})", highlight=False)
    for x in view.escalations:
        console.print(f"[bold red]escalation[/]: {x.contract}/{x.term or x.group or '*'} {_how(x)}: {x.right}",
                      highlight=False)


def _how(x: Escalation) -> str:
    """What reached the right, in the rule's own terms."""
    if x.rule == "consecutive":
        return f"{x.breaches} consecutive periods breached ({x.period})"
    if x.rule == "ratio":
        return f"{x.breaches} of {x.windows} windows breached in {x.period}"
    return f"{x.breaches} breaches in {x.period}"
