"""Options shared by several commands, declared once so their names, checks and help agree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.adapters import ADAPTERS
from streams.ledger import PERIOD_FORMS, PeriodError, period_label

ContractFiles = Annotated[list[Path], typer.Option("--contract", "-c", help="Contract YAML file (repeatable).")]
Broker = Annotated[str, typer.Option(help="Kafka bootstrap address, `kafka://host:port` or `host:port`.")]


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
DeliveryTimeout = Annotated[float, typer.Option(
    min=0.1, help="Seconds each event may wait for the broker's acknowledgement, retries included (an outage "
    "shorter than this loses nothing). Past it the command stops, says how many events were not acknowledged and "
    "exits 1.")]
