"""`cckpi report`: the monthly or quarterly statement of a contract, from the published window and breach records
(`--from-topic`) or from source files computed by the same batch engine as `cckpi compute`."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from streams.app import topics
from streams.app.settings import bootstrap_servers
from streams.cli.common import EVENTS_HELP, Broker, PeriodOption, contracts_or_exit
from streams.cli.inputs import adapter_errors_exit, decode_events, events_or_exit, is_stdin, report_unjudged
from streams.cli.replay import SOURCE_HELP, Timezone
from streams.cli.topic_read import read_messages
from streams.contracts.model import Contract
from streams.core.batch import compute
from streams.core.records import BreachUpdate, TicketMissed, WindowResult
from streams.core.terms import compile_terms
from streams.models.events import Event
from streams.report import Statement, build_statement, parse_period
from streams.report.browser import BrowserMissing, print_pdf, screenshot
from streams.report.csv_files import write_csv
from streams.report.digest import InputDigest, file_digest, lines_digest
from streams.report.html_page import render_html
from streams.report.labels import fmt_money
from streams.report.statement import Published


@dataclass(frozen=True)
class Records:
    """What a statement is built from: window records (with publish times when read from Kafka), breach records,
    and the digests of the inputs they came from."""

    windows: list[Published]
    breaches: list[dict[str, Any]]
    inputs: list[InputDigest]


def _from_topics(contract: Contract, broker: str, timeout: float, progress: Progress) -> Records:
    """This contract's records on `cckpi.kpi-windows` and `cckpi.breaches`, digested as read."""
    tz = ZoneInfo(contract.timezone)
    found: dict[str, list[tuple[dict[str, Any], bytes, int]]] = {}
    for topic in (topics.KPI_WINDOWS, topics.BREACHES):
        task = progress.add_task(f"read {topic}", total=None)
        messages = asyncio.run(read_messages(bootstrap_servers(broker), topic, timeout))
        decoded = [(orjson.loads(m.value), m.value, m.timestamp_ms) for m in messages]
        found[topic] = [d for d in decoded if isinstance(d[0], dict) and d[0].get("contract") == contract.id]
        progress.update(task, total=len(messages), completed=len(messages),
                        description=f"read {topic}: {len(found[topic])} records of {contract.id}")
    windows = [Published(r, datetime.fromtimestamp(ts / 1000, tz)) for r, _, ts in found[topics.KPI_WINDOWS]]
    inputs = [lines_digest(topic, "topic", [raw for _, raw, _ in found[topic]]) for topic in found]
    return Records(windows, [r for r, _, _ in found[topics.BREACHES]], inputs)


def _counted(events: Iterable[Event], progress: Progress, task: Any) -> Iterator[Event]:
    n = 0
    for n, event in enumerate(events, 1):
        if n % 10_000 == 0:
            progress.update(task, completed=n, description=f"compute: {n:,} events")
        yield event
    progress.update(task, completed=n, total=n, description=f"compute: {n:,} events")


def _from_batch(contract: Contract, events: Path | None, source: str | None, files: list[Path] | None,
                timezone: str | None, err: Console, progress: Progress) -> Records:
    """The records `cckpi compute` would print (windows) and the stream would publish (breaches)."""
    read: Iterable[Event] | None = None
    if is_stdin(events):  # read once, for both the digest and the events
        raw = sys.stdin.buffer.read()
        inputs = [InputDigest("-", "events", len(raw), hashlib.sha256(raw).hexdigest())]
        read = decode_events(raw.splitlines(), "<stdin>", err)
    else:
        inputs = [file_digest(p, "events" if events else "source") for p in ([events] if events else files or [])]
    task = progress.add_task("compute", total=None)
    with adapter_errors_exit(err):
        given = read if read is not None else events_or_exit(events, source, files, timezone, err)
        outputs = compute(_counted(given, progress, task), compile_terms([contract]))
    report_unjudged(outputs, err)
    windows = [Published(o.to_dict()) for o in outputs if isinstance(o, WindowResult)]
    breaches = [o.to_breach() for o in outputs if isinstance(o, BreachUpdate | TicketMissed)]
    return Records(windows, breaches, inputs)


def _write_records(out: Path, records: Records) -> None:
    """The records the statement was built from, as JSON lines, so the other party can check them."""
    folder = out / "records"
    folder.mkdir(exist_ok=True)
    (folder / "kpi-windows.jsonl").write_bytes(b"".join(orjson.dumps(p.record) + b"\n" for p in records.windows))
    (folder / "breaches.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records.breaches))


def _command(contract: Path, period: str, out: Path, broker: str | None, events: Path | None, source: str | None,
             files: list[Path] | None) -> str:
    """The invocation that reproduces the statement, with file names only (paths differ between machines)."""
    if broker is not None:
        given = f"--from-topic --broker {broker}"
    elif events is not None:
        given = f"--events {events.name}"
    else:
        given = f"--source {source} " + " ".join(p.name for p in files or [])
    return f"cckpi report -c {contract.name} --period {period} {given} --out {out.name}"


def report_command(
    contract: Annotated[Path, typer.Option("--contract", "-c", help="The contract file.", exists=True,
                                           dir_okay=False, readable=True, show_default=False)],
    period: PeriodOption,
    out: Annotated[Path, typer.Option(help="Directory for statement.html, the CSV files and records/.",
                                      file_okay=False, show_default=False)],
    from_topic: Annotated[bool, typer.Option(
        "--from-topic", help="Read `cckpi.kpi-windows` and `cckpi.breaches` from --broker.")] = False,
    broker: Broker = "kafka://127.0.0.1:9092",
    source: Annotated[str | None, typer.Option(
        help=SOURCE_HELP + " Compute the records from FILE... in batch.", show_default=False)] = None,
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE", help="Source files for --source, oldest first.", exists=True, dir_okay=False,
        readable=True, show_default=False)] = None,
    events: Annotated[Path | None, typer.Option(
        help="Compute the records from these events in batch. " + EVENTS_HELP, dir_okay=False,
        show_default=False)] = None,
    timezone: Timezone = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print statement.pdf with headless Chromium.")] = False,
    png: Annotated[Path | None, typer.Option(
        help="Also save a 1280x2000 screenshot of the page (headless Chromium), e.g. docs/statement.png.",
        dir_okay=False, show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for reading each topic.")] = 60.0,
) -> None:
    """Write the statement of a contract for a month or quarter: parties and period, volume per channel and queue,
    every term with its threshold, value per window, period value and attainment, each breach with its evidence
    and penalty, the penalty total and escalation state, late-data revisions, and a sha256 digest of the inputs.

    One source of numbers: the statement reads the window and breach records the stream publishes
    (`--from-topic`), or computes exactly those records with the batch engine of `cckpi compute` (`--source NAME
    FILE...` or `--events FILE`). Labels are Chinese or English by the contract's `language` (else its name).
    Writes `statement.html` (self-contained, inline SVG charts), `terms.csv`, `windows.csv`, `breaches.csv`,
    `volumes.csv`, `totals.csv`, `escalations.csv`, `revisions.csv`, `tickets.csv`, `inputs.csv` and the records
    used (`records/*.jsonl`).

    **Examples**

    - `cckpi report -c contracts/examples/anonymous-bank.yaml --period 1999-09 --source anonymous-bank
      data/09_September.txt --out statements/1999-09`
    - `cckpi report -c contracts/examples/telecom-outsourcing.yaml --period 2026-Q4 --from-topic --broker
      127.0.0.1:9092 --out statements/2026-Q4 --pdf`
    - `cckpi report -c contracts/examples/demo.yaml --period 2026-11 --events calls.jsonl --out out --png shot.png`
    """
    err = Console(stderr=True)
    [loaded] = contracts_or_exit([contract])
    when = parse_period(period, loaded.timezone)  # checked when parsed; PeriodError (past 9999) is a user error
    if from_topic and (source is not None or events is not None or files):
        err.print("error: give either --from-topic or --source NAME FILE... / --events FILE, not both", style="red",
                  soft_wrap=True)
        raise typer.Exit(2)
    if not from_topic and source is None and events is None:
        err.print("error: give --from-topic (with --broker), --source NAME FILE... or --events FILE", style="red",
                  soft_wrap=True)
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as progress:  # off in scripts and logs: stderr keeps to its messages
        if from_topic:
            try:
                records = _from_topics(loaded, broker, timeout, progress)
            except (KafkaError, OSError) as exc:  # TimeoutError included: the topic was not read to its end
                err.print(f"error: reading {broker}: {exc!r}", style="red", highlight=False, markup=False,
                          soft_wrap=True)
                raise typer.Exit(2) from None
        else:
            records = _from_batch(loaded, events, source, files, timezone, err, progress)
        task = progress.add_task("write statement", total=None)
        statement = build_statement(loaded, when, records.windows, records.breaches,
                                    [file_digest(contract, "contract"), *records.inputs])
        _write_records(out, records)
        command = _command(contract, period, out, broker if from_topic else None, events, source, files)
        page = out / "statement.html"
        page.write_text(render_html(statement, command), encoding="utf-8")
        written = [page, *write_csv(statement, out)]
        try:
            if pdf:
                progress.update(task, description="print statement.pdf")
                written.append(print_pdf(page, out / "statement.pdf"))
            if png is not None:
                progress.update(task, description=f"screenshot {png}")
                written.append(screenshot(page, png))
        except (BrowserMissing, RuntimeError) as exc:
            err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        progress.update(task, total=1, completed=1, description="write statement: done")
    _summary(statement, written)


def _summary(s: Statement, written: list[Path]) -> None:
    console = Console(highlight=False)
    total = ", ".join(fmt_money(a, c) for c, a in s.totals.items()) or "none"
    console.print(f"statement {s.contract.id} {s.period.label}: {len(s.breaches)} breaches booked, penalties {total}")
    for x in s.escalations:
        if x.reached:
            console.print(f"escalation reached: {x.term or '*'} {x.breaches} breaches in {x.period}: {x.right}")
    console.print(f"inputs sha256 {s.digest}")
    for path in written:
        console.print(f"wrote {path}")
