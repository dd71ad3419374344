"""`cckpi worker`: run the streaming worker."""

from __future__ import annotations

import json
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import yaml

from streams.app.settings import MAX_FUTURE_SECONDS, WorkerSettings, span_text
from streams.cli.common import contracts_or_exit
from streams.cli.credentials import ALERTMANAGER_ENV, credentials_or_exit
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import (
    AlertmanagerAuthFile,
    AlertmanagerUrl,
    Broker,
    ContractFiles,
    LogFormat,
    LogFormatOption,
    LogLevel,
    LogLevelOption,
    MetricsPort,
    from_command_line,
    setting,
)
from streams.cli.topic_options import (
    DEAD_LETTER_RETENTION,
    DeadLetterRetention,
    Partitions,
    ReplicationFactor,
    topic_layout,
)
from streams.contracts.model import Contract, parse_duration
from streams.kafka_io.connect import broker_url
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.kafka_io.topics import DEFAULT_PARTITIONS, DEFAULT_REPLICATION, TopicConfigError
from streams.sinks.credentials import redacted


class ConfigFormat(StrEnum):
    """Formats of `cckpi worker --print-config`."""

    yaml = "yaml"
    json = "json"


@with_kafka_security
def worker(
    ctx: typer.Context,
    contract: ContractFiles,
    broker: Broker = "kafka://127.0.0.1:9092",
    kafka_security: KafkaSecurity = PLAINTEXT,
    metrics_port: MetricsPort = None,
    metrics_addr: Annotated[str, setting("--metrics-addr", help="Address for /metrics.")] = "127.0.0.1",
    partitions: Partitions = DEFAULT_PARTITIONS,
    replication_factor: ReplicationFactor = DEFAULT_REPLICATION,
    dead_letter_retention: DeadLetterRetention = DEAD_LETTER_RETENTION,
    app_id: Annotated[str, setting("--app-id", help="Consumer group and table prefix.")] = "cckpi",
    idle_after: Annotated[float, setting(
        "--idle-after", min=0, help="Wall seconds before a quiet queue's clock follows the wall.")] = 10,
    max_future: Annotated[str | None, setting(
        "--max-future",
        help="Dead-letter events stamped further than this ahead of the worker clock (30s, 1m, 2h, 7d; default 1m). "
        "Keep it below the shortest grace: one event that far ahead closes windows that early. A simulator running "
        "faster than real time (`cckpi simulate --speed 60`) needs the span it runs ahead, e.g. 3650d.",
        show_default=False)] = None,
    max_future_days: Annotated[float | None, setting(
        "--max-future-days", help="The same in days (older form of --max-future).")] = None,
    alertmanager_url: AlertmanagerUrl = None,
    alertmanager_auth_file: AlertmanagerAuthFile = None,
    dashboard_url: Annotated[str | None, setting("--dashboard-url", help="Grafana dashboard to link from alerts.")
                             ] = None,
    data_dir: Annotated[Path | None, setting(
        "--data-dir", help="Local state directory (default: $XDG_CACHE_HOME/cckpi/faust, else ~/.cache/cckpi/faust).",
        show_default=False)] = None,
    log_level: LogLevelOption = LogLevel.warning,
    log_format: LogFormatOption = LogFormat.text,
    batch_max: Annotated[int, setting(
        "--batch-max", min=1, help="Most messages processed (and committed) as one batch: larger batches spread the "
        "per-batch acknowledgement and commit round trips over more events; smaller ones bound a batch's latency "
        "while a backlog drains.")] = 20000,
    broker_wait: Annotated[float, setting(
        "--broker-wait", min=0, help="Seconds to wait at start for the broker to answer; then one line and exit 2.")
                           ] = 30.0,
    print_config: Annotated[bool, typer.Option(
        "--print-config", help="Print the effective settings (flags, then CCKPI_* variables, then defaults) with "
        "secrets redacted, and exit 0 without connecting anywhere.")] = False,
    config_format: Annotated[ConfigFormat, typer.Option(
        "--config-format", case_sensitive=False, help="Format of --print-config.")] = ConfigFormat.yaml,
) -> None:
    """Consume call events, keep event-time windows, emit window results, breaches and metrics.

    Reads `cckpi.calls` (keyed by queue) and `cckpi.tickets`, `cckpi.surveys`, `cckpi.availability`
    (one partition each); writes `cckpi.kpi-windows`, `cckpi.breaches`, `cckpi.dead-letter`.
    Runs until interrupted (Ctrl-C or SIGTERM).

    **Examples**

    - `cckpi worker -c contracts/examples/demo.yaml --broker kafka://127.0.0.1:9092 --metrics-port 9100`
    - `cckpi worker -c a.yaml -c b.yaml --broker 127.0.0.1:9092 --partitions 8`
    - `cckpi worker -c demo.yaml --alertmanager-url http://127.0.0.1:9093 --dashboard-url http://grafana:3000/d/ops`
    """
    from streams.app.process import default_data_dir
    from streams.app.worker import run_worker  # Faust is imported only by the commands that need it

    contracts = contracts_or_exit(contract)
    alertmanager_url, alert_credentials = credentials_or_exit(alertmanager_url, ALERTMANAGER_ENV,
                                                              alertmanager_auth_file)
    if from_command_line(ctx, "max_future_days") and not from_command_line(ctx, "max_future"):  # the flag wins
        max_future = None
    elif from_command_line(ctx, "max_future") and not from_command_line(ctx, "max_future_days"):
        max_future_days = None
    data_dir = data_dir or default_data_dir()
    layout = topic_layout(partitions, replication_factor, dead_letter_retention)
    settings = WorkerSettings(broker=broker_url(broker), kafka_security=kafka_security, app_id=app_id,
                              partitions=layout.partitions,
                              replication_factor=layout.replication_factor,
                              dead_letter_retention_ms=layout.dead_letter_retention_ms,
                              metrics_port=metrics_port, metrics_addr=metrics_addr, idle_after=idle_after,
                              max_future=checked_tolerance(max_future, max_future_days, contracts),
                              alertmanager_url=alertmanager_url, dashboard_url=dashboard_url,
                              datadir=data_dir, log_level=log_level.value, log_format=log_format.value,
                              broker_wait=broker_wait, batch_max=batch_max)
    if print_config:
        typer.echo(config_text({"contract": contract, **effective(settings),
                                "alertmanager_credentials": alert_credentials}, config_format), nl=False)
        raise typer.Exit(0)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.secho(f"error: --data-dir {data_dir}: cannot create: {exc.strerror or exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    try:
        run_worker(settings, contracts, alert_credentials)
    except TopicConfigError as exc:  # a changelog that is not compacted, a topic the broker refused to create
        _fail(str(exc))


def effective(settings: WorkerSettings) -> dict[str, object]:
    """The worker's settings by field (every field of `WorkerSettings`, whoever added it), for `--print-config`."""
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def config_text(config: dict[str, object], form: ConfigFormat) -> str:
    """`config` as YAML or JSON, secrets masked and URLs' userinfo hidden (`redacted`)."""
    data = redacted(config)
    if form is ConfigFormat.json:
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def checked_tolerance(text: str | None, days: float | None, contracts: list[Contract]) -> float:
    """`future_tolerance`, with a warning on stderr when it exceeds the shortest grace of the contracts: one event
    stamped that far ahead would close windows before real-time events of them are in."""
    tolerance = future_tolerance(text, days)
    shortest = min((parse_duration(t.grace) for c in contracts for t in c.terms), default=None)
    if shortest is not None and tolerance > shortest:
        typer.secho(f"warning: --max-future {span_text(tolerance)} is longer than the shortest grace "
                    f"({span_text(shortest)}): one event stamped that far ahead closes windows early",
                    fg="yellow", err=True)
    return tolerance


def future_tolerance(text: str | None, days: float | None) -> float:
    """Seconds an event may be stamped ahead of the worker clock, from --max-future or --max-future-days; a bad or
    doubled value is a user error (one line, exit 2)."""
    if text is not None and days is not None:
        _fail("give --max-future or --max-future-days, not both")
    if days is not None:
        if not days >= 0:
            _fail(f"--max-future-days must be 0 or more (got {days:g})")
        return days * 86400
    if text is None:
        return MAX_FUTURE_SECONDS
    try:
        return float(parse_duration(text))
    except ValueError as exc:
        _fail(f"--max-future: {exc}")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)
