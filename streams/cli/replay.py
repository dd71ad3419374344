"""`cckpi replay`: publish the events of real source files (via an adapter) to Kafka, paced or at full speed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streams.adapters import ADAPTERS, AdapterError, ReadStats, adapter_for
from streams.app.settings import bootstrap_servers
from streams.cli.common import Broker
from streams.cli.errors import one_line
from streams.sim.producer import DELIVERY_TIMEOUT, Pacing, Published, PublishError, publish, topic_for

SOURCE_HELP = "Source format of the files: " + ", ".join(f"`{name}`" for name in ADAPTERS) + "."
SourceName = Annotated[str, typer.Option("--source", help=SOURCE_HELP, show_default=False)]
SourceFiles = Annotated[list[Path], typer.Argument(
    help="Files of that format, oldest first (e.g. the monthly files in date order).", exists=True,
    dir_okay=False, readable=True, show_default=False)]
Timezone = Annotated[str | None, typer.Option(
    help="IANA timezone of the files' local times (default: the source's: Asia/Jerusalem for anonymous-bank, "
         "UTC for the others).", show_default=False)]
DeliveryTimeout = Annotated[float, typer.Option(
    min=0.1, help="Seconds each event may wait for the broker's acknowledgement, retries included (an outage "
    "shorter than this loses nothing). Past it the command stops, says how many events were not acknowledged and "
    "exits 1.")]


def publish_or_exit(run: Coroutine[Any, Any, Published], progress: Progress) -> Published:
    """Run a `publish`; if it fails (broker unreachable at start, events not acknowledged in time) end the command
    with its one-line message on stderr and its exit code (2 and 1)."""
    try:
        with _quiet_kafka_client():
            return asyncio.run(run)
    except PublishError as exc:
        progress.stop()
        typer.secho(one_line(f"error: {exc}"), fg="red", err=True)
        raise typer.Exit(exc.exit_code) from None


@contextlib.contextmanager
def _quiet_kafka_client() -> Iterator[None]:
    """Silence aiokafka's own logging meanwhile: while a broker is away it logs every reconnect attempt (ten a
    second), and the command reports the outcome itself."""
    client = logging.getLogger("aiokafka")
    level = client.level
    client.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        client.setLevel(level)


def replay_command(
    source: SourceName,
    files: SourceFiles,
    broker: Broker = "kafka://127.0.0.1:9092",
    speed: Annotated[float, typer.Option(help="Source seconds per wall second (3600: an hour a second).")] = 60.0,
    as_fast_as_possible: Annotated[bool, typer.Option(help="Ignore --speed; publish without pauses.")] = False,
    timezone: Timezone = None,
    delivery_timeout: DeliveryTimeout = DELIVERY_TIMEOUT,
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
    err = Console(stderr=True)
    try:
        adapter = adapter_for(source, timezone)
    except AdapterError as exc:
        err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    pacing = Pacing(speed=None if as_fast_as_possible else speed)
    stats = ReadStats()
    with Progress(TextColumn(f"replay {adapter.name}"), BarColumn(), TextColumn("{task.fields[line]}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        task = progress.add_task("replay", total=None, line="reading")
        started = time.monotonic()

        def on_problem(line: str) -> None:
            progress.console.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)

        def on_sent(p: Published) -> None:
            rate = p.events / max(time.monotonic() - started, 1e-9)
            at = "" if p.source_time is None else datetime.fromtimestamp(p.source_time, UTC).strftime(
                ", source time %Y-%m-%d %H:%M:%SZ")
            progress.update(task, completed=p.events, line=f"{p.events:,} events, {rate:,.0f}/s{at}")

        events = adapter.read(files, on_problem, stats)
        try:
            sent = publish_or_exit(publish(events, bootstrap_servers(broker), topic_for, pacing, on_sent,
                                           report_every=500, delivery_timeout=delivery_timeout), progress)
        except AdapterError as exc:
            progress.stop()
            err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        progress.update(task, total=max(sent.events, 1), completed=max(sent.events, 1))
    per_topic = ", ".join(f"{topic} {n:,}" for topic, n in sorted(sent.by_topic.items())) or "nothing"
    per_type = ", ".join(f"{kind} {n:,}" for kind, n in sorted(stats.events.items()))
    err.print(f"published {sent.events:,} events from {stats.rows:,} rows: {per_topic} ({per_type})",
              highlight=False, markup=False, soft_wrap=True)
