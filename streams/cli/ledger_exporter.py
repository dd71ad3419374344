"""`cckpi ledger-exporter`: the ledger as Prometheus metrics, settled from the topics at a steady pace."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

from prometheus_client import CollectorRegistry

from streams.cli.common import contracts_or_exit
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import Broker, ContractFiles, setting
from streams.contracts.model import Contract
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.ledger.exporter import BookedMoney, Records, run_settlements
from streams.report.records_source import breaches_from_topic, windows_from_topic
from streams.sinks.health import health_app, start_server


@with_kafka_security
def ledger_exporter_command(
    contract: ContractFiles,
    metrics_port: Annotated[int, setting("--metrics-port", min=0, max=65535,
                                         help="Serve Prometheus /metrics (and /healthz) on this port.")],
    broker: Broker = "kafka://127.0.0.1:9092",
    metrics_addr: Annotated[str, setting("--metrics-addr", help="Address for /metrics.")] = "127.0.0.1",
    settle_every: Annotated[float, setting(
        "--settle-every", min=1.0, help="Seconds between settlements (each reads the topics to their end).")] = 60.0,
    kafka_security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Export what the ledger books: read `cckpi.breaches` (and `cckpi.kpi-windows` when a term has a cure period)
    to its end, settle every breach as `cckpi ledger` does (caps, cures, booking months, days of delay up to now),
    and serve `cckpi_penalties_booked{contract,period,currency}`, `cckpi_cures_pending{contract}` and
    `cckpi_ledger_settled_timestamp_seconds`; again every `--settle-every` seconds until SIGTERM or Ctrl-C.

    Workers only see their own windows and price them before caps and cures (`cckpi_penalties_priced`); run one
    exporter per contract set, beside the workers.

    **Examples**

    - `cckpi ledger-exporter -c contracts/examples/telecom-outsourcing.yaml --broker 127.0.0.1:9092
      --metrics-port 9108`
    - `CCKPI_BROKER=kafka:9092 CCKPI_METRICS_PORT=9108 CCKPI_SETTLE_EVERY=300 cckpi ledger-exporter -c
      contracts/examples/helpdesk-sla.yaml --metrics-addr 0.0.0.0`
    """
    contracts = contracts_or_exit(contract)
    bootstrap = bootstrap_servers(broker, kafka_security)
    registry = CollectorRegistry()
    money = BookedMoney(registry)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = start_server(metrics_port, metrics_addr, health_app(registry))
    try:
        run_settlements(contracts, lambda: _read(bootstrap, contracts), money, lambda: not stop.wait(settle_every))
    finally:
        server.shutdown()


def _read(bootstrap: str, contracts: list[Contract]) -> Records:
    """Every breach record, and the window records cure periods look at (none when no term has a cure)."""
    cures = any(t.penalty and t.penalty.cure for c in contracts for t in c.terms)
    return breaches_from_topic(bootstrap), windows_from_topic(bootstrap) if cures else []
