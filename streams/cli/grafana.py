"""`cckpi grafana`: breach annotations on Grafana dashboards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer
from grafana_client import GrafanaApi

from streams.app import topics
from streams.app.settings import bootstrap_servers
from streams.cli.topic_read import read_topic
from streams.sinks.grafana import annotate

app = typer.Typer(help="Grafana: breach annotations.", no_args_is_help=True, rich_markup_mode="markdown")


@app.command("annotate")
def annotate_command(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://127.0.0.1:3000.")],
    token: Annotated[str, typer.Option(help="Service account token (or set CCKPI_GRAFANA_TOKEN).",
                                       envvar="CCKPI_GRAFANA_TOKEN")],
    broker: Annotated[str | None, typer.Option(help="Read `cckpi.breaches` from this broker.")] = None,
    breaches: Annotated[Path | None, typer.Option(help="Breach records as JSON lines (as on the topic).")] = None,
    dashboard_uid: Annotated[str | None, typer.Option(help="Attach to this dashboard (default: organisation-wide).")
                             ] = None,
) -> None:
    """Create one annotation per window that closed breached (its latest revision) and per ticket that missed its
    deadline, tagged `cckpi`, contract, term and scope, so every dashboard can show them.

    **Examples**

    - `cckpi grafana annotate --url http://127.0.0.1:3000 --token $TOKEN --broker 127.0.0.1:9092`
    - `cckpi grafana annotate --url http://grafana:3000 --token $TOKEN --breaches breaches.jsonl --dashboard-uid ops`
    """
    if (broker is None) == (breaches is None):
        typer.secho("error: give either --broker or --breaches", fg="red", err=True)
        raise typer.Exit(2)
    if breaches is not None:
        records = [orjson.loads(line) for line in breaches.read_bytes().splitlines() if line.strip()]
    else:
        records = asyncio.run(read_topic(bootstrap_servers(broker or ""), topics.BREACHES))
    created = annotate(GrafanaApi.from_url(url, credential=token), records, dashboard_uid)
    typer.echo(f"created {created} annotations")
