"""`cckpi contracts`: check contract files before a worker loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from streams.contracts.loader import ContractError, load_contract

app = typer.Typer(help="Validate and inspect contract files.", no_args_is_help=True, rich_markup_mode="markdown")


@app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="Contract YAML files.")]) -> None:
    """Validate contract files; print file:line: field path: problem for each error.

    Exits 0 when every file is valid, 1 otherwise.

    **Examples**

    - `cckpi contracts validate contracts/examples/*.yaml`
    """
    console = Console(soft_wrap=True)
    failed = False
    for file in files:
        try:
            contract = load_contract(file)
        except ContractError as exc:
            failed = True
            for problem in exc.problems:
                typer.secho(str(problem), fg="red", err=True)
            continue
        console.print(f"{file}: ok ({contract.id}, {len(contract.terms)} terms)", highlight=False)
    raise typer.Exit(1 if failed else 0)
