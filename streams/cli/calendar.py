"""`cckpi calendar`: placeholder, filled in by its owner."""

import typer

app = typer.Typer(help="calendar commands", no_args_is_help=True)
