"""`cckpi contracts`: placeholder, filled in by its owner."""

import typer

app = typer.Typer(help="contracts commands", no_args_is_help=True)
