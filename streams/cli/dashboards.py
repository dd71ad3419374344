"""`cckpi dashboards`: Grafana dashboards generated from the contracts; upload; PNG preview from Prometheus."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from streams.cli.common import contracts_or_exit
from streams.cli.credentials import GRAFANA_ENV, env_token
from streams.contracts.model import Contract
from streams.dashboards.build import FILES, outdated, write_dashboards
from streams.dashboards.queries import PrometheusApi, PrometheusError, label_values_query, template_variables

app = typer.Typer(
    help="""Grafana dashboards generated from the contracts: build, publish, preview.

**Examples**

- `cckpi dashboards build`
- `CCKPI_GRAFANA_TOKEN=glsa_... cckpi dashboards publish --url http://localhost:3000 --folder CCKPI`
- `cckpi dashboards preview --prometheus http://localhost:9090 --out docs/operations-wall.png`
""",
    no_args_is_help=True, rich_markup_mode="markdown")

EXAMPLES = Path("contracts") / "examples"
Contracts = Annotated[list[Path] | None, typer.Option(
    "--contract", "-c", help="Contract YAML file (repeatable; default: contracts/examples/*.yaml).")]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Directory of the dashboard JSON files.")]


def _contracts(files: list[Path] | None) -> list[Contract]:
    files = files or sorted(EXAMPLES.glob("*.yaml"))
    if not files:
        typer.secho(f"no contract given and none in {EXAMPLES}/ (run from the repository root or pass -c)",
                    fg="red", err=True)
        raise typer.Exit(2)
    return contracts_or_exit(files)


@app.command("build")
def build(contract: Contracts = None, out: OutDir = Path("dashboards"),
          check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if the files are not up to date.")]
          = False) -> None:
    """Generate the four dashboards from the contracts: operations wall, contract attainment, ticket SLAs,
    pipeline health (a dashboard whose KPIs no contract uses is left out).

    Panels exist per KPI kind the terms use; threshold lines come from the `cckpi_<kpi>_threshold_<unit>`
    series and the contract levels also colour the panels. Grafana loads `dashboards/` through the provisioning
    in `deploy/grafana/`.

    **Examples**

    - `cckpi dashboards build` (all of `contracts/examples/`, into `dashboards/`)
    - `cckpi dashboards build -c contracts/examples/demo.yaml --out /tmp/dashboards`
    - `cckpi dashboards build --check` (CI: are the committed files current?)
    """
    contracts = _contracts(contract)
    if check:
        stale = outdated(contracts, out)
        for name in stale:
            typer.secho(f"{out / name}: not up to date (run `cckpi dashboards build`)", fg="red", err=True)
        raise typer.Exit(1 if stale else 0)
    for path in write_dashboards(contracts, out):
        typer.echo(f"wrote {path}")


@app.command("publish")
def publish(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://localhost:3000.")],
    token: Annotated[str | None, typer.Option(help=(
        f"Service-account token (visible in the process list: prefer {GRAFANA_ENV}_TOKEN or {GRAFANA_ENV}_TOKEN_FILE, "
        "as for `cckpi grafana annotate`; GRAFANA_TOKEN, the older name, still works)."))] = None,
    folder: Annotated[str | None, typer.Option(help="Folder title (created if missing); default General.")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Directory of the dashboard JSON files.")]
    = Path("dashboards"),
) -> None:
    """Upload the dashboard files to Grafana with grafana-client (POST /api/dashboards/db), overwriting
    the dashboards with the same uid.

    **Examples**

    - `CCKPI_GRAFANA_TOKEN_FILE=/run/secrets/grafana cckpi dashboards publish --url http://localhost:3000`
    - `CCKPI_GRAFANA_TOKEN=glsa_... cckpi dashboards publish --url https://grafana.example.com --folder CCKPI`
    """
    from streams.dashboards.publish import publish as upload

    token = token or env_token() or legacy_token()
    files = [directory / name for name in FILES if (directory / name).is_file()]
    if not files:
        typer.secho(f"no dashboard in {directory}/ (run `cckpi dashboards build`)", fg="red", err=True)
        raise typer.Exit(2)
    boards = {f.name: json.loads(f.read_text(encoding="utf-8")) for f in files}
    try:
        done = upload(boards, url, token, folder)
    except Exception as exc:  # grafana-client raises its own and the HTTP library's errors
        typer.secho(f"publish failed: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    for p in done:
        typer.echo(f"{p.name}: {url.rstrip('/')}{p.url} (version {p.version})")


def legacy_token() -> str | None:
    """`$GRAFANA_TOKEN`, the variable `dashboards publish` read before every credential became `CCKPI_GRAFANA_*`."""
    token = os.environ.get("GRAFANA_TOKEN") or None
    if token is not None:
        typer.secho(f"warning: GRAFANA_TOKEN is deprecated: use {GRAFANA_ENV}_TOKEN", fg="yellow", err=True)
    return token


@app.command("preview")
def preview(
    prometheus: Annotated[str, typer.Option(help="Prometheus base URL, e.g. http://localhost:9090.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    dashboard: Annotated[Path, typer.Option(help="Dashboard JSON file.")] = Path("dashboards/operations-wall.json"),
    contract_id: Annotated[str | None, typer.Option(
        "--contract-id", help="Value of the contract variable (default: the first Prometheus knows).")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Queue(s) for the scope variable (default: all).")] = None,
    minutes: Annotated[float, typer.Option(help="Time range to draw, ending now.")] = 15.0,
) -> None:
    """Draw a dashboard as a PNG (matplotlib, Grafana's dark theme) from a Prometheus query API: what the
    supervisors would see in Grafana, without a Grafana server.

    **Examples**

    - `cckpi dashboards preview --prometheus http://localhost:9090 --out docs/operations-wall.png`
    - `cckpi dashboards preview --prometheus http://localhost:9090 --out /tmp/tickets.png
      --dashboard dashboards/ticket-slas.json --contract-id helpdesk-sla --minutes 60`
    """
    from streams.dashboards.preview import render_preview

    board = json.loads(dashboard.read_text(encoding="utf-8"))
    variables: dict[str, str | list[str]] = {}
    declared = template_variables(board)
    try:
        if "contract" in declared:
            if contract_id is None:
                with PrometheusApi(prometheus) as api:
                    selector, label = label_values_query(declared["contract"]["query"])
                    known = api.label_values(selector, label)
                if not known:
                    typer.secho("Prometheus knows no contract yet (is it scraping a worker?)", fg="red", err=True)
                    raise typer.Exit(1)
                contract_id = known[0]
            variables["contract"] = contract_id
        if "scope" in declared:
            variables["scope"] = scope or ".*"
        path = render_preview(board, prometheus, out, variables, minutes=minutes)
    except (PrometheusError, httpx.HTTPError, OSError) as exc:
        typer.secho(f"preview failed: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}")
