"""`cckpi schema`: placeholder, filled in by its owner."""

import typer

app = typer.Typer(help="schema commands", no_args_is_help=True)
