"""`cckpi worker`: run the streaming worker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.app.settings import WorkerSettings, broker_url
from streams.cli.common import Broker, ContractFiles, contracts_or_exit


def worker(
    contract: ContractFiles,
    broker: Broker = "kafka://127.0.0.1:9092",
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")] = None,
    metrics_addr: Annotated[str, typer.Option(help="Address for /metrics.")] = "127.0.0.1",
    partitions: Annotated[int, typer.Option(help="Partitions of the topics the worker creates.")] = 4,
    app_id: Annotated[str, typer.Option(help="Consumer group and table prefix.")] = "cckpi",
    idle_after: Annotated[float, typer.Option(help="Wall seconds before a quiet queue's clock follows the wall.")] = 10,
    max_future_days: Annotated[float, typer.Option(help="Dead-letter events stamped this far ahead of now.")] = 7,
    alertmanager_url: Annotated[str | None, typer.Option(help="Post breach alerts to this Alertmanager.")] = None,
    dashboard_url: Annotated[str | None, typer.Option(help="Grafana dashboard to link from alerts.")] = None,
    data_dir: Annotated[Path, typer.Option(help="Local state directory.")] = Path(".cache/faust"),
    log_level: Annotated[str, typer.Option(help="Log level of the worker.")] = "warning",
) -> None:
    """Consume call events, keep event-time windows, emit window results, breaches and metrics.

    Reads `cckpi.calls` (keyed by queue) and `cckpi.tickets`, `cckpi.surveys`, `cckpi.availability`
    (one partition each); writes `cckpi.kpi-windows`, `cckpi.breaches`, `cckpi.dead-letter`.
    Runs until interrupted (Ctrl-C or SIGTERM).

    **Examples**

    - `cckpi worker -c contracts/examples/demo.yaml --broker kafka://127.0.0.1:9092 --metrics-port 9100`
    - `cckpi worker -c a.yaml -c b.yaml --broker 127.0.0.1:9092 --partitions 8`
    - `cckpi worker -c demo.yaml --alertmanager-url http://127.0.0.1:9093 --dashboard-url http://grafana:3000/d/ops`
    """
    from streams.app.worker import run_worker  # Faust is imported only by the commands that need it

    contracts = contracts_or_exit(contract)
    settings = WorkerSettings(broker=broker_url(broker), app_id=app_id, partitions=partitions,
                              metrics_port=metrics_port, metrics_addr=metrics_addr, idle_after=idle_after,
                              max_future=max_future_days * 86400, alertmanager_url=alertmanager_url,
                              dashboard_url=dashboard_url,
                              datadir=data_dir, log_level=log_level)
    run_worker(settings, contracts)
