"""Entry point of the `cckpi` command: one Typer app, one sub-module per command group."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from streams.cli import calendar, contracts, dashboards, forecast, grafana, schema
from streams.cli.compute import compute_command
from streams.cli.demo import demo
from streams.cli.errors import CckpiGroup
from streams.cli.ledger import ledger_command
from streams.cli.ledger_exporter import ledger_exporter_command
from streams.cli.replay import replay_command
from streams.cli.report import report_command
from streams.cli.simulate import simulate_command
from streams.cli.worker import worker

app = typer.Typer(
    name="cckpi",
    cls=CckpiGroup,  # user errors of every command: one line on stderr, exit 2, no traceback
    help="Streaming monitor of contact-center KPIs against contracted service levels.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def package_version() -> str:
    """The installed cckpi version (`unknown` when run from a tree that was never installed)."""
    try:
        return version("cckpi")
    except PackageNotFoundError:
        return "unknown"


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"cckpi {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """Streaming monitor of contact-center KPIs against contracted service levels."""


app.add_typer(schema.app, name="schema")
app.add_typer(contracts.app, name="contracts")
app.add_typer(calendar.app, name="calendar")
app.add_typer(grafana.app, name="grafana")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(forecast.app, name="forecast")
app.command("worker")(worker)
app.command("simulate")(simulate_command)
app.command("compute")(compute_command)
app.command("demo")(demo)
app.command("replay")(replay_command)
app.command("ledger")(ledger_command)
app.command("ledger-exporter")(ledger_exporter_command)
app.command("report")(report_command)


def main() -> None:
    """Run the `cckpi` command line."""
    app()
