"""Entry point of the `cckpi` command: one Typer app, one sub-module per command group."""

from __future__ import annotations

import typer

from streams.cli import calendar, contracts, dashboards, forecast, grafana, schema
from streams.cli.compute import compute_command
from streams.cli.demo import demo
from streams.cli.ledger import ledger_command
from streams.cli.replay import replay_command
from streams.cli.report import report_command
from streams.cli.simulate import simulate_command
from streams.cli.worker import worker

app = typer.Typer(
    name="cckpi",
    help="Streaming monitor of contact-center KPIs against contracted service levels.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
app.command("report")(report_command)


def main() -> None:
    """Run the `cckpi` command line."""
    app()
