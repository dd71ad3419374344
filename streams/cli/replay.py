"""`cckpi replay`: publish the events of real source files (via an adapter) to Kafka, paced or at full speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from streams.adapters import AdapterError, ReadStats, adapter_for
from streams.cli.common import publish_or_exit
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import (
    Broker,
    DeliveryTimeout,
    LogFormat,
    LogFormatOption,
    LogLevel,
    LogLevelOption,
    SourceFiles,
    SourceName,
    Timezone,
    setup_command_logging,
)
from streams.cli.topic_options import Partitions, ReplicationFactor, topic_layout
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.publish import DELIVERY_TIMEOUT
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.kafka_io.topics import DEFAULT_PARTITIONS, DEFAULT_REPLICATION
from streams.sim.producer import Pacing, Published, publish, topic_for


@with_kafka_security
def replay_command(
    source: SourceName,
    files: SourceFiles,
    broker: Broker = "kafka://127.0.0.1:9092",
    kafka_security: KafkaSecurity = PLAINTEXT,
    speed: Annotated[float, typer.Option(help="Source seconds per wall second (3600: an hour a second).")] = 60.0,
    as_fast_as_possible: Annotated[bool, typer.Option(help="Ignore --speed; publish without pauses.")] = False,
    timezone: Timezone = None,
    delivery_timeout: DeliveryTimeout = DELIVERY_TIMEOUT,
    partitions: Partitions = DEFAULT_PARTITIONS,
    replication_factor: ReplicationFactor = DEFAULT_REPLICATION,
    log_level: LogLevelOption = LogLevel.warning,
    log_format: LogFormatOption = LogFormat.text,
) -> None:
    """Replay real source files as cckpi events: calls to `cckpi.calls`, tickets to `cckpi.tickets`, surveys to
    `cckpi.surveys`, availability to `cckpi.availability`, each keyed by its routing key (queue, ticket, service).

    Topics are created first if missing. Events go out in event-time order, paced so that `--speed` source seconds
    pass per wall second (like `cckpi simulate`). Rows the adapter cannot use are reported on stderr with a summary
    of skipped rows and data quirks; see `streams/adapters/` for each source's mapping.

    Every event is acknowledged by the broker (acks=all, idempotent producer: a broker outage shorter than
    `--delivery-timeout` loses and duplicates nothing). Exit 0 only when all were acknowledged; 1 (with the count of
    unacknowledged events) when some were not; 2 when no broker answers at start.

    **Examples**

    - `cckpi replay --source anonymous-bank data/01_January.txt --speed 3600` (an hour of calls a second)
    - `cckpi replay --source anonymous-bank data/01_January.txt data/02_February.txt --as-fast-as-possible`
    - `cckpi replay --source asterisk-queue-log /var/log/asterisk/queue_log --timezone America/New_York`
    - `cckpi replay --source servicenow-incidents incidents.csv --speed 86400 --broker 127.0.0.1:9092`
    """
    setup_command_logging(log_level, log_format)
    err = Console(stderr=True)
    try:
        adapter = adapter_for(source, timezone)
    except AdapterError as exc:
        _fail(err, exc)
    stats = ReadStats()
    with Progress(TextColumn(f"replay {adapter.name}"), BarColumn(), TextColumn("{task.fields[line]}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        task = progress.add_task("replay", total=None, line="reading")
        on_problem, on_sent = _reporters(progress, task)
        run = publish(adapter.read(files, on_problem, stats), bootstrap_servers(broker, kafka_security), topic_for,
                      Pacing(speed=None if as_fast_as_possible else speed), on_sent, report_every=500,
                      delivery_timeout=delivery_timeout, layout=topic_layout(partitions, replication_factor))
        try:
            sent = publish_or_exit(run, progress)
        except AdapterError as exc:
            progress.stop()
            _fail(err, exc)
        progress.update(task, total=max(sent.events, 1), completed=max(sent.events, 1))
    err.print(_summary(sent, stats), highlight=False, markup=False, soft_wrap=True)


def _fail(err: Console, exc: AdapterError) -> NoReturn:
    """An adapter's error (a file of the wrong format, an unknown source): one line, exit 2."""
    err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2) from None


def _reporters(progress: Progress, task: TaskID) -> tuple[Callable[[str], None], Callable[[Published], None]]:
    """What the adapter's problems and the publisher's counts print: a problem line, and the progress line (events,
    rate, source time)."""
    started = time.monotonic()

    def on_problem(line: str) -> None:
        progress.console.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)

    def on_sent(p: Published) -> None:
        rate = p.events / max(time.monotonic() - started, 1e-9)
        at = "" if p.source_time is None else datetime.fromtimestamp(p.source_time, UTC).strftime(
            ", source time %Y-%m-%d %H:%M:%SZ")
        progress.update(task, completed=p.events, line=f"{p.events:,} events, {rate:,.0f}/s{at}")

    return on_problem, on_sent


def _summary(sent: Published, stats: ReadStats) -> str:
    """The closing line: events published per topic, out of how many rows, per event type."""
    per_topic = ", ".join(f"{topic} {n:,}" for topic, n in sorted(sent.by_topic.items())) or "nothing"
    per_type = ", ".join(f"{kind} {n:,}" for kind, n in sorted(stats.events.items()))
    return f"published {sent.events:,} events from {stats.rows:,} rows: {per_topic} ({per_type})"
