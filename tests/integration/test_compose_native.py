"""docker-compose.yml works, proven without Docker: its services run natively with the compose file's commands,
environment and configs (tests/integration/compose_native.py says what is translated), each in its own network
namespace and reachable under its compose name (tests/integration/netns.py), and the test checks what an operator
would see: Prometheus scrapes the worker and the ledger exporter, every panel of the operations wall has data, a
breach reaches the webhook receiver through deploy/alertmanager/alertmanager.yml, then its resolution does, and the
contract dashboard's money panel shows what `cckpi ledger` books for the breaches on the topic.

Started: kafka (the tests' real Apache Kafka broker, configured from the compose environment), webhook,
alertmanager, worker, ledger-exporter, simulator, prometheus. Not started: grafana (no Grafana build for this
machine in the package registries; its provisioning is checked in test_deploy_configs.py and the wall's queries
are run here instead).
The only override: the simulator's `--start` is the top of the current hour, so the simulator's staffing dip
(minutes 5-20 of every hour) begins 5 s after the start rather than up to an hour of simulated time (one wall
minute at the compose speed) later. Once a breach has fired, the simulator is replaced by one that goes on from
where it was without the dip (the staffing recovers): the next windows close met and the breach resolves, rather
than the hourly dip re-firing it about as often as the breach route's group_interval looks.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from streams.dashboards.queries import PrometheusApi, panels, substitute
from streams.sim.callcenter import Traffic
from tests.integration.compose_native import (
    ROOT,
    KafkaInNamespace,
    Native,
    Running,
    healthcheck_argv,
    load_compose,
    native_service,
    running_services,
    start_order,
    stop,
)
from tests.integration.compose_native import start as start_service
from tests.integration.netns import Network, compose_network, require_netns
from tests.integration.services import service_paths
from tests.integration.test_dashboards_prometheus import missing_panels
from tools.brokers import ensure_kafka_jars

pytestmark = pytest.mark.integration
NOT_RUN = {"grafana"}
WALL = ROOT / "dashboards" / "operations-wall.json"
ATTAINMENT = ROOT / "dashboards" / "contract-attainment.json"
T = TypeVar("T")


def get_json(url: str) -> Any:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def eventually(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    """`probe()` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with_value = probe()
        if with_value:
            return with_value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(every)


def compose_contract(services: dict[str, Any]) -> str:
    """The contract id the compose worker runs (its --contract file, read natively)."""
    import yaml

    command = services["worker"]["command"]
    path = command[command.index("--contract") + 1].replace("/etc/cckpi/contracts", str(ROOT / "deploy/contracts"))
    return str(yaml.safe_load(Path(path).read_text(encoding="utf-8"))["id"])


def top_of_hour() -> str:
    """The current hour's start in the contract's timezone (the one documented override)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0, microsecond=0).isoformat()


def breach_resolved(notes: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(term, scope) of the first breach alert the breach receiver got firing and, in a later notification,
    resolved."""
    firing: set[tuple[str, str]] = set()
    for note in notes:
        for alert in note["alerts"] if note["receiver"] == "breach" else []:
            labels = alert["labels"]
            key = (labels.get("term"), labels.get("scope"))
            if labels.get("severity") != "breach":
                continue
            if alert["status"] == "firing":
                firing.add(key)
            elif alert["status"] == "resolved" and key in firing:
                return key
    return None


def breach_notes(notes: list[dict[str, Any]]) -> str:
    """The breach receiver's notifications, one line each: status and (term, scope, alert status)."""
    return "\n".join(f"{n['status']}: " + ", ".join(
        f"{a['labels'].get('term')}/{a['labels'].get('scope')} {a['status']}" for a in n["alerts"])
        for n in notes if n["receiver"] == "breach")


def breach_fired(notes: list[dict[str, Any]]) -> bool:
    """The breach receiver got a breach alert firing."""
    return any(a["status"] == "firing" and a["labels"].get("severity") == "breach"
               for n in notes if n["receiver"] == "breach" for a in n["alerts"])


def money_panel(contract: str) -> str:
    """The contract dashboard's money panel query (`cckpi_penalties_booked`) for `contract`."""
    board = json.loads(ATTAINMENT.read_text(encoding="utf-8"))
    (expr,) = [t["expr"] for p in panels(board) for t in p.get("targets", []) if "cckpi_penalties_booked" in t["expr"]]
    return substitute(expr, {"contract": contract})


def ledger_of_topic(exporter: Native, net: Network, year: str) -> dict[str, Any]:
    """`cckpi ledger --format json` of `year` on the compose broker, run in the exporter's namespace with its
    contracts (the test process cannot follow the broker's `kafka:9092` metadata)."""
    argv = exporter.argv
    contracts = [argv[i + 1] for i, a in enumerate(argv) if a == "--contract"]
    command = [*net.exec_prefix(exporter.name), sys.executable, "-m", "streams", "ledger", "--period", year,
               "--broker", argv[argv.index("--broker") + 1], "--format", "json",
               *[arg for c in contracts for arg in ("--contract", c)]]
    out = subprocess.run(command, capture_output=True, cwd=ROOT, env=exporter.env,
                         timeout=60, check=True)
    ledger: dict[str, Any] = json.loads(out.stdout)
    return ledger


def money_served_as_booked(api: PrometheusApi, exporter: Native, net: Network, contract: str,
                           year: str) -> dict[tuple[str, str], float] | None:
    """The money panel's (period, currency) -> amount once it equals what `cckpi ledger` books for `contract`, and
    that is 500 CNY per staffing-floor breach (deploy/contracts/demo-hotline.yaml's only penalty), and some."""
    served = {(s.labels["period"], s.labels["currency"]): s.points[0][1] for s in api.query(money_panel(contract))}
    ledger = ledger_of_topic(exporter, net, year)
    booked = {(t["month"], t["currency"]): float(Decimal(t["amount"]))
              for t in ledger["totals"] if t["contract"] == contract}
    entries = [e for e in ledger["entries"] if e["contract"] == contract and Decimal(e["amount"])]
    assert {(e["term"], Decimal(e["amount"]), e["currency"]) for e in entries} <= {
        ("staffing-floor-15m", Decimal(500), "CNY")}, entries
    return served if served and served == booked and sum(served.values()) == 500 * len(entries) else None


def recover(running: dict[str, Running], simulator: Native, net: Network, logs: Path) -> None:
    """Replace the simulator by one that goes on from its simulated time (plus a margin) at full staffing."""
    old = running.pop("simulator")
    argv = old.native.argv
    speed = float(argv[argv.index("--speed") + 1])
    start = datetime.fromisoformat(argv[argv.index("--start") + 1])
    now = start + timedelta(seconds=speed * (time.monotonic() - old.started + 3))
    stop(old)
    agents = argv[argv.index("--agents") + 1] if "--agents" in argv else str(Traffic().agents)
    at = argv.index("--start")
    tail = [*argv[:at], *argv[at + 2:], "--start", now.isoformat(), "--dip-agents", agents]
    running["simulator"] = start_service(replace(simulator, argv=tail, name="simulator"), net, logs)


def test_compose_stack_runs_natively(tmp_path: Path) -> None:
    require_netns()
    began = time.monotonic()
    compose = load_compose({"GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16)})  # compose refuses without one
    services = compose["services"]
    order = start_order(services, [name for name in services if name not in NOT_RUN])
    assert set(order) == {"kafka", "webhook", "alertmanager", "worker", "ledger-exporter", "simulator", "prometheus"}
    bins = service_paths()
    ensure_kafka_jars()
    natives = {name: native_service(name, services[name], tmp_path, bins) for name in order if name != "kafka"}
    sim = natives["simulator"].argv
    start = top_of_hour()  # read once: the money is booked in the year the simulated traffic starts
    sim += ["--start", start]
    contract = compose_contract(services)
    timings: dict[str, float] = {}

    with compose_network(order) as net, KafkaInNamespace(services["kafka"], net) as kafka:
        kafka_check = healthcheck_argv(services["kafka"])
        assert kafka_check and kafka.running
        with running_services([natives[n] for n in order if n != "kafka"], net, tmp_path) as running:
            timings["started"] = time.monotonic() - began
            prom = f"http://{net.addresses['prometheus']}:9090"
            webhook = f"http://{net.addresses['webhook']}:9199"

            def target_up(job: str) -> dict[str, Any] | None:
                targets = get_json(f"{prom}/api/v1/targets")["data"]["activeTargets"]
                up = [t for t in targets if t["labels"]["job"] == job and t["health"] == "up"]
                return up[0] if up else None

            target = eventually("Prometheus scrapes the worker", lambda: target_up("cckpi-worker"), 60)
            assert target["scrapeUrl"] == "http://worker:9100/metrics"
            target = eventually("Prometheus scrapes the exporter", lambda: target_up("cckpi-ledger-exporter"), 60)
            assert target["scrapeUrl"] == "http://ledger-exporter:9108/metrics"
            with PrometheusApi(prom) as api:
                assert [s.points[0][1] for s in api.query('up{job="cckpi-worker"}')] == [1.0]
                ams = get_json(f"{prom}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
                assert [a["url"] for a in ams] == ["http://alertmanager:9093/api/v2/alerts"]
                timings["worker up"] = time.monotonic() - began

                boards = {WALL.name: json.loads(WALL.read_text(encoding="utf-8"))}
                for scope in ("general", ".*"):
                    variables = {"contract": contract, "scope": scope}
                    eventually(f"every operations-wall panel has data for {variables}",
                               lambda v=variables: not missing_panels(api, boards, v), 90, every=3)  # type: ignore[misc]
                timings["panels"] = time.monotonic() - began

                eventually("a breach at the webhook's breach receiver",
                           lambda: breach_fired(get_json(f"{webhook}/notifications")), 90)
                timings["breach"] = time.monotonic() - began
                recover(running, natives["simulator"], net, tmp_path)
                try:
                    term, scope = eventually("a breach resolved at the webhook's breach receiver",
                                             lambda: breach_resolved(get_json(f"{webhook}/notifications")), 150)
                except AssertionError as exc:  # say what the receiver got, and what the simulators did
                    raise AssertionError(f"{exc}\n{breach_notes(get_json(f'{webhook}/notifications'))}\n"
                                         f"{running['simulator'].tail(1500)}") from None
                timings["resolved"] = time.monotonic() - began
                notes = get_json(f"{webhook}/notifications")
                assert {n["alertmanager_receiver"] for n in notes if n["receiver"] == "breach"} == {"cckpi-breach"}
                assert {"contract": contract, "term": term, "scope": scope} in [
                    n["group_labels"] for n in notes if n["receiver"] == "breach" and n["status"] == "resolved"]

                # The contract dashboard's money panel: the exporter's cckpi_penalties_booked, as the ledger books.
                assert api.query(f'cckpi_cures_pending{{contract="{contract}"}}')[0].points[0][1] == 0
                year = start[:4]
                money = eventually("the money panel shows what `cckpi ledger` books", lambda: money_served_as_booked(
                    api, natives["ledger-exporter"], net, contract, year), 60, every=3)
                timings["money"] = time.monotonic() - began
                print(f"\nbooked {money}")

                # The pipeline stayed healthy all along: the worker was never down for Prometheus.
                alerts = get_json(f"{prom}/api/v1/alerts")["data"]["alerts"]
                assert not [a for a in alerts if a["labels"]["alertname"].startswith("CckpiWorker")]
            for name, proc in running.items():
                assert proc.proc.poll() is None, f"{name} exited:\n{proc.tail()}"
    print(f"\ncompose stack natively: {', '.join(f'{k} {v:.0f}s' for k, v in timings.items())}")
