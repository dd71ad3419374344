"""Helpers shared by several commands: loading contracts, running a publish (the shared options are `options.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from streams.cli.errors import one_line
from streams.contracts.loader import ContractError, load_contracts
from streams.contracts.model import Contract
from streams.kafka_io.connect import quiet_kafka_client
from streams.kafka_io.publish import PublishError
from streams.sim.producer import Published


def contracts_or_exit(files: list[Path]) -> list[Contract]:
    """Load contracts, or print every problem and exit 2."""
    try:
        return load_contracts(files)
    except ContractError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), fg="red", err=True)
        raise typer.Exit(2) from None


def publish_or_exit(run: Coroutine[Any, Any, Published], progress: Progress) -> Published:
    """Run a `publish`; if it fails (broker unreachable at start, events not acknowledged in time) end the command
    with its one-line message on stderr and its exit code (2 and 1)."""
    try:
        with quiet_kafka_client():
            return asyncio.run(run)
    except PublishError as exc:
        progress.stop()
        typer.secho(one_line(f"error: {exc}"), fg="red", err=True)
        raise typer.Exit(exc.exit_code) from None
