"""`cckpi report`: the monthly or quarterly statement of a contract, from the published window and breach records
(`--from-topic`) or from source files computed by the same batch engine as `cckpi compute`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from streams.cli.common import contracts_or_exit
from streams.cli.errors import UserError, is_kafka_error
from streams.cli.inputs import adapter_errors_exit, digested_events, report_unjudged
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import EVENTS_HELP, SOURCE_HELP, Broker, PeriodOption, Timezone
from streams.contracts.model import Contract
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.models.events import Event
from streams.report import Statement, build_statement, parse_period
from streams.report.browser import BrowserMissing, print_pdf, screenshot
from streams.report.csv_files import write_csv
from streams.report.digest import file_digest
from streams.report.html_page import render_html
from streams.report.labels import fmt_money
from streams.report.period import Period
from streams.report.records_source import Records, from_batch, from_topics, write_records


def _from_topics(contract: Contract, broker: str, timeout: float, progress: Progress, period: Period) -> Records:
    """This contract's records on the topics, each topic's reading shown as a progress line; a topic that no longer
    holds the whole period is a user error (`PeriodNotRetained`)."""
    def on_read(topic: str, read: int, kept: int) -> None:
        progress.add_task(f"read {topic}: {kept} records of {contract.id}", total=read, completed=read)

    try:
        return from_topics(bootstrap_servers(broker), contract, timeout, on_read, period)
    except Exception as exc:  # TimeoutError included: the topic was not read to its end
        if not (is_kafka_error(exc) or isinstance(exc, OSError)):
            raise
        raise UserError(f"reading {broker}: {exc!r}") from None


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
    task = progress.add_task("compute", total=None)
    with adapter_errors_exit(err):
        given, inputs = digested_events(events, source, files, timezone, err)
        records = from_batch(_counted(given, progress, task), [contract], inputs)
    report_unjudged(records.left_out, err)
    return records


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


@with_kafka_security
def report_command(
    contract: Annotated[Path, typer.Option("--contract", "-c", help="The contract file.", exists=True,
                                           dir_okay=False, readable=True, show_default=False)],
    period: PeriodOption,
    out: Annotated[Path, typer.Option(help="Directory for statement.html, the CSV files and records/.",
                                      file_okay=False, show_default=False)],
    from_topic: Annotated[bool, typer.Option(
        "--from-topic", help="Read `cckpi.kpi-windows` and `cckpi.breaches` from --broker.")] = False,
    broker: Broker = "kafka://127.0.0.1:9092",
    kafka_security: KafkaSecurity = PLAINTEXT,
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
    _check_one_source(from_topic, source, events, files)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as progress:  # off in scripts and logs: stderr keeps to its messages
        if from_topic:
            records = _from_topics(loaded, bootstrap_servers(broker, kafka_security), timeout, progress, when)
        else:
            records = _from_batch(loaded, events, source, files, timezone, err, progress)
        task = progress.add_task("write statement", total=None)
        statement = build_statement(loaded, when, records.windows, records.breaches,
                                    [file_digest(contract, "contract"), *records.inputs])
        write_records(out / "records", records)
        command = _command(contract, period, out, broker if from_topic else None, events, source, files)
        written = _write_statement(statement, out, command, pdf, png, lambda text: progress.update(
            task, description=text))
        progress.update(task, total=1, completed=1, description="write statement: done")
    _summary(statement, written)


def _check_one_source(from_topic: bool, source: str | None, events: Path | None, files: list[Path] | None) -> None:
    """Exactly one of `--from-topic`, `--source NAME FILE...` and `--events FILE`, else a user error."""
    if from_topic and (source is not None or events is not None or files):
        raise UserError("give either --from-topic or --source NAME FILE... / --events FILE, not both")
    if not from_topic and source is None and events is None:
        raise UserError("give --from-topic (with --broker), --source NAME FILE... or --events FILE")


def _write_statement(statement: Statement, out: Path, command: str, pdf: bool, png: Path | None,
                     doing: Callable[[str], None]) -> list[Path]:
    """statement.html and the CSV files, then the PDF and screenshot asked for (a missing or failing browser is a
    user error: one line, exit 2); the files written."""
    page = out / "statement.html"
    page.write_text(render_html(statement, command), encoding="utf-8")
    written = [page, *write_csv(statement, out)]
    try:
        if pdf:
            doing("print statement.pdf")
            written.append(print_pdf(page, out / "statement.pdf"))
        if png is not None:
            doing(f"screenshot {png}")
            written.append(screenshot(page, png))
    except (BrowserMissing, RuntimeError) as exc:
        raise UserError(str(exc)) from None
    return written


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
