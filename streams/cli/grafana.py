"""`cckpi grafana`: breach annotations on Grafana dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.credentials import credentials_or_exit, usage_error
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import from_command_line, setting
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.report.records_source import breaches_from_topic, read_breaches
from streams.sinks.credentials import CredentialsError, HttpCredentials, split_userinfo
from streams.sinks.grafana import CREDENTIALS_ENV, GrafanaError, annotate, connect

app = typer.Typer(help="Grafana: breach annotations.", no_args_is_help=True, rich_markup_mode="markdown")


@app.command("annotate")
@with_kafka_security
def annotate_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://127.0.0.1:3000.")],
    token: Annotated[str | None, typer.Option(
        help="Service account token (visible in the process list: prefer CCKPI_GRAFANA_TOKEN or --auth-file).")
                             ] = None,
    auth_file: Annotated[Path | None, typer.Option(
        help="YAML file with `token`, or `username` and `password` (else CCKPI_GRAFANA_TOKEN[_FILE] or "
             "CCKPI_GRAFANA_USERNAME/_PASSWORD[_FILE], else the URL's user:pass@).")] = None,
    broker: Annotated[str | None, setting("--broker", help="Read `cckpi.breaches` from this broker.")] = None,
    kafka_security: KafkaSecurity = PLAINTEXT,
    breaches: Annotated[Path | None, typer.Option(help="Breach records as JSON lines (as on the topic).")] = None,
    dashboard_uid: Annotated[str | None, typer.Option(help="Attach to this dashboard (default: organisation-wide).")
                             ] = None,
) -> None:
    """Create one annotation per window that closed breached (its latest revision) and per ticket that missed its
    deadline, tagged `cckpi`, `breach` (or `ticket`), contract, term and scope, so every dashboard can show them.
    Idempotent: a breach Grafana already has an annotation of (its text names the breach id) is kept, or updated
    when a later revision changed it; duplicates of earlier runs are removed; re-running creates nothing.

    **Examples**

    - `CCKPI_GRAFANA_TOKEN=... cckpi grafana annotate --url http://127.0.0.1:3000 --broker 127.0.0.1:9092`
    - `cckpi grafana annotate --url http://grafana:3000 --auth-file grafana.yaml --breaches breaches.jsonl
      --dashboard-uid ops`
    """
    if breaches is not None and not from_command_line(ctx, "broker"):
        broker = None  # --breaches on the command line wins over CCKPI_BROKER
    if (broker is None) == (breaches is None):
        typer.secho("error: give either --broker or --breaches", fg="red", err=True)
        raise typer.Exit(2)
    url, credentials = grafana_credentials(url, token, auth_file)
    records = read_breaches(breaches) if breaches is not None else \
        breaches_from_topic(bootstrap_servers(broker or "", kafka_security))
    try:
        tally = annotate(connect(url, credentials), records, dashboard_uid, url=url, secrets=credentials.secrets())
    except GrafanaError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(tally))


def grafana_credentials(url: str, token: str | None, auth_file: Path | None) -> tuple[str, HttpCredentials]:
    """The URL without userinfo and the credentials: `--token` or `--auth-file`, else the environment, else the
    URL's userinfo; one line and exit 2 when there are none, or both options are given."""
    if token is not None and auth_file is not None:
        usage_error("give --token or --auth-file, not both")
    if token is not None:
        try:
            return split_userinfo(url)[0], HttpCredentials(token=token)
        except CredentialsError as exc:
            usage_error(f"--token: {exc}")
    bare, credentials = credentials_or_exit(url, CREDENTIALS_ENV, auth_file)
    if bare is None or credentials is None:
        usage_error("no Grafana credentials: give --auth-file, CCKPI_GRAFANA_TOKEN (or _TOKEN_FILE) or --token")
    return bare, credentials
