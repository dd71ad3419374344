"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.contracts.loader import ContractError, load_contracts
from streams.contracts.model import Contract

ContractFiles = Annotated[list[Path], typer.Option("--contract", "-c", help="Contract YAML file (repeatable).")]
Broker = Annotated[str, typer.Option(help="Kafka bootstrap address, `kafka://host:port` or `host:port`.")]


def contracts_or_exit(files: list[Path]) -> list[Contract]:
    """Load contracts, or print every problem and exit 2."""
    try:
        return load_contracts(files)
    except ContractError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), fg="red", err=True)
        raise typer.Exit(2) from None
