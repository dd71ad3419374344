"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.contracts.loader import ContractError, load_contracts
from streams.contracts.model import Contract
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


def contracts_or_exit(files: list[Path]) -> list[Contract]:
    """Load contracts, or print every problem and exit 2."""
    try:
        return load_contracts(files)
    except ContractError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), fg="red", err=True)
        raise typer.Exit(2) from None
