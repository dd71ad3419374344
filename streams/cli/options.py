"""Options shared by several commands, declared once so their names, checks and help agree.

Settings (where the services are, who the worker is, how it logs and waits) also come from the environment: each is
declared with `setting`, which names its variable by one rule, `CCKPI_` + the long option name upper-cased with
dashes as underscores (`--metrics-port`: `CCKPI_METRICS_PORT`); a flag given on the command line wins. An explicit
`envvar=` per setting, not Click's `auto_envvar_prefix`: that one names variables per command (`CCKPI_WORKER_BROKER`)
and gives every option one, inputs and outputs included (`--period`, `--out`). Typer's own environment support, not
pydantic-settings: the option is the one definition of a setting (type, check, default, help, variable), shown by
`--help`. Several contract files in `CCKPI_CONTRACT` are separated by the path separator (`:`, `;` on Windows).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.adapters import ADAPTERS
from streams.app.process import setup_logging
from streams.cli.credentials import ALERTMANAGER_AUTH_HELP
from streams.ledger import PERIOD_FORMS, PeriodError, period_label

ENV_PREFIX = "CCKPI"


RENAMED = {"--data-dir": "CCKPI_STATE_DIR"}
"""The one departure from the naming rule: `CCKPI_DATA_DIR` names the folder of the real data sets (tests and
bench), so the worker's state directory is `CCKPI_STATE_DIR`."""


def env_name(long_name: str) -> str:
    """The environment variable of an option: `--app-id` -> `CCKPI_APP_ID` (see `RENAMED`)."""
    return RENAMED.get(long_name) or f"{ENV_PREFIX}_{long_name.removeprefix('--').upper().replace('-', '_')}"


def setting(long_name: str, *short_names: str, **option: Any) -> Any:
    """A `typer.Option` that is also read from its `CCKPI_*` variable (see `env_name`; the flag wins), shown in
    `--help`."""
    return typer.Option(long_name, *short_names, envvar=env_name(long_name), show_envvar=True, **option)


def from_command_line(ctx: typer.Context, name: str) -> bool:
    """Whether the parameter `name` was given on the command line (not by its variable or its default): a command
    whose sources exclude each other lets a flag override a source set in the environment."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


class LogLevel(StrEnum):
    """`--log-level`: the least severe records logged."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class LogFormat(StrEnum):
    """`--log-format`: one line of text per record, or one JSON object per line (ts, level, logger, message, extras)."""

    text = "text"
    json = "json"


def setup_command_logging(level: LogLevel, log_format: LogFormat) -> None:
    """`--log-level` and `--log-format` of a long-running command other than the worker (`setup_logging`)."""
    setup_logging(level.value, log_format.value)


ContractFiles = Annotated[list[Path], setting(
    "--contract", "-c", help="Contract YAML file (repeatable; in the variable, separated by the path separator `:`).")]
Broker = Annotated[str, setting("--broker", help="Kafka bootstrap address, `kafka://host:port` or `host:port`.")]
LogLevelOption = Annotated[LogLevel, setting("--log-level", case_sensitive=False, help="Least severe records logged.")]
LogFormatOption = Annotated[LogFormat, setting(
    "--log-format", case_sensitive=False, help="`text`, or `json`: one JSON object per line (ts, level, logger, "
    "message and the record's extra fields).")]
AlertmanagerUrl = Annotated[str | None, setting(
    "--alertmanager-url", help="Post breach alerts to this Alertmanager.")]
AlertmanagerAuthFile = Annotated[Path | None, setting("--alertmanager-auth-file", help=ALERTMANAGER_AUTH_HELP)]
MetricsPort = Annotated[int | None, setting("--metrics-port", min=0, max=65535,
                                            help="Serve Prometheus /metrics on this port.")]


def _period(text: str) -> str:
    """The period option's check, when the command line is parsed: a usage error for anything else."""
    try:
        return period_label(text)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from None


PeriodOption = Annotated[str, typer.Option(
    "--period", callback=_period, show_default=False,
    help=f"{PERIOD_FORMS}: windows starting in that month, quarter or year, in the contract's timezone.")]
"""`--period` of `cckpi ledger` and `cckpi report`: one parser, checked before anything is read."""
EVENTS_HELP = "Events as JSON lines, in the order they were published (`-`: standard input)."

SOURCE_HELP = "Source format of the files: " + ", ".join(f"`{name}`" for name in ADAPTERS) + "."
SourceName = Annotated[str, typer.Option("--source", help=SOURCE_HELP, show_default=False)]
SourceFiles = Annotated[list[Path], typer.Argument(
    help="Files of that format, oldest first (e.g. the monthly files in date order).", exists=True,
    dir_okay=False, readable=True, show_default=False)]
Timezone = Annotated[str | None, typer.Option(
    help="IANA timezone of the files' local times (default: the source's: Asia/Jerusalem for anonymous-bank, "
         "UTC for the others).", show_default=False)]
DeliveryTimeout = Annotated[float, setting(
    "--delivery-timeout", min=0.1,
    help="Seconds each event may wait for the broker's acknowledgement, retries included (an outage "
    "shorter than this loses nothing). Past it the command stops, says how many events were not acknowledged and "
    "exits 1.")]
