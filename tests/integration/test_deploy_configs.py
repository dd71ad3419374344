"""The deployment files are valid for the real tools that read them.

Prometheus/Alertmanager configs are checked with Debian's promtool/amtool (obtained by
tools/services/fetch.sh, which extracts the .debs into .cache/services/ when they are not
installed), Alertmanager routing and inhibition are exercised on a real Alertmanager, and
docker-compose.yml is validated against the Compose Specification's schema and checked structurally, Grafana
provisioning structurally (no Docker engine here; test_compose_native.py runs the stack's services natively).
If the binaries cannot be obtained the tests FAIL: they are never skipped for that reason.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.services import alertmanager_process

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FETCH = REPO / "tools" / "services" / "fetch.sh"
PROM_DIR = REPO / "deploy" / "prometheus"
PROM_CONFIG = PROM_DIR / "prometheus.yml"
AM_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
GRAFANA_PROV = REPO / "deploy" / "grafana" / "provisioning"
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_SCHEMA = REPO / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
KAFKA_POM = REPO / "tools" / "kafka" / "pom.xml"
DEFAULT_KAFKA_VERSION = "4.1.1"  # only while tools/kafka/pom.xml does not exist yet

BREACH = {"contract": "demo", "term": "service_level", "scope": "queue:sales", "severity": "breach"}


# --------------------------------------------------------------------------- helpers


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, **kw)


def ok(cmd: list[str]) -> str:
    proc = run(cmd)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out}"
    return out


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def pinned_kafka_version() -> str:
    """<kafka.version> (or the kafka_2.13 dependency version) in tools/kafka/pom.xml."""
    if not KAFKA_POM.exists():
        return DEFAULT_KAFKA_VERSION
    pom = KAFKA_POM.read_text(encoding="utf-8")
    m = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", pom)
    if m:
        return m.group(1)
    m = re.search(r"<artifactId>kafka_2\.13</artifactId>\s*<version>\s*([^<\s$]+)\s*</version>", pom)
    assert m, f"{KAFKA_POM} pins no Kafka version (<kafka.version> or kafka_2.13 <version>)"
    return m.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


# --------------------------------------------------------------------------- binaries


@pytest.fixture(scope="module")
def services() -> dict[str, str]:
    """Paths printed by tools/services/fetch.sh (KEY=VALUE lines)."""
    try:
        proc = subprocess.run(["bash", str(FETCH)], capture_output=True, text=True, timeout=900, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not run {FETCH}: {exc}")
    if proc.returncode != 0:
        pytest.fail(
            "tools/services/fetch.sh could not provide prometheus/promtool/alertmanager/amtool "
            f"(exit {proc.returncode}); these tests need them, they do not skip.\n"
            f"stderr:\n{proc.stderr}\nstdout:\n{proc.stdout}"
        )
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    for key in ("PROMETHEUS_BIN", "PROMTOOL_BIN", "ALERTMANAGER_BIN", "AMTOOL_BIN", "ALERTMANAGER_RUN"):
        assert key in env, f"fetch.sh printed no {key}:\n{proc.stdout}"
        assert os.access(env[key], os.X_OK), f"{key}={env[key]} is not executable"
    return env


def test_fetched_binaries_run(services: dict[str, str]) -> None:
    for key, name in [
        ("PROMETHEUS_BIN", "prometheus"),
        ("PROMTOOL_BIN", "promtool"),
        ("ALERTMANAGER_BIN", "alertmanager"),
        ("AMTOOL_BIN", "amtool"),
    ]:
        out = ok([services[key], "--version"])
        assert re.search(rf"{name}, version \d+\.\d+", out), out


# --------------------------------------------------------------------------- Prometheus


def test_prometheus_config_is_valid_and_finds_its_rules(services: dict[str, str]) -> None:
    out = ok([services["PROMTOOL_BIN"], "check", "config", str(PROM_CONFIG)])
    m = re.search(r"(\d+) rule files found", out)
    assert m and int(m.group(1)) >= 1, f"rule_files resolved to no file:\n{out}"
    assert "rules found" in out, out


def test_prometheus_config_shape() -> None:
    cfg = load_yaml(PROM_CONFIG)
    # Relative rule paths resolve against the config file: same file in compose and here.
    assert cfg["rule_files"] == ["rules/*.yml"]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert {"prometheus", "cckpi-worker", "cckpi-ledger-exporter"} <= set(jobs)
    worker_targets = [t for sc in jobs["cckpi-worker"]["static_configs"] for t in sc["targets"]]
    assert worker_targets == ["worker:9100"]
    am_targets = [t for am in cfg["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert am_targets == ["alertmanager:9093"]
    # A promtool unit-test file inside rules/ would be loaded as a rule file by that glob.
    for f in (PROM_DIR / "rules").glob("*.yml"):
        assert "tests" not in (load_yaml(f) or {}), f"{f} is a unit-test file inside rules/"


def test_prometheus_rules_are_valid(services: dict[str, str]) -> None:
    files = sorted((PROM_DIR / "rules").glob("*.yml"))
    assert files, "no rule file in deploy/prometheus/rules"
    out = ok([services["PROMTOOL_BIN"], "check", "rules", *map(str, files)])
    assert "SUCCESS" in out, out
    names = {r.get("alert") for f in files for g in load_yaml(f)["groups"] for r in g["rules"]}
    assert {"CckpiWorkerDown", "CckpiDeadLettersRising"} <= names


def test_prometheus_rule_unit_tests_pass(services: dict[str, str]) -> None:
    tests = sorted((PROM_DIR / "tests").glob("*_test.yml"))
    assert PROM_DIR / "tests" / "pipeline_test.yml" in tests
    out = ok([services["PROMTOOL_BIN"], "test", "rules", *map(str, tests)])
    assert "FAILED" not in out, out


# --------------------------------------------------------------------------- Alertmanager


def test_alertmanager_config_is_valid(services: dict[str, str]) -> None:
    out = ok([services["AMTOOL_BIN"], "check-config", str(AM_CONFIG)])
    assert "SUCCESS" in out, out
    assert re.search(r"\b1 inhibit rules\b", out), out


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (BREACH, "cckpi-breach"),
        ({**BREACH, "severity": "warning"}, "cckpi-warning"),
        ({**BREACH, "severity": "forecast"}, "cckpi-forecast"),
        ({"contract": "demo", "term": "aht", "scope": "site:a", "severity": "info"}, "cckpi-default"),
        ({"alertname": "CckpiWorkerDown", "severity": "critical", "component": "pipeline"}, "cckpi-pipeline"),
        ({"alertname": "Unrelated"}, "cckpi-default"),
    ],
    ids=["breach", "warning", "forecast", "other-severity", "pipeline", "unlabelled"],
)
def test_alertmanager_routes(services: dict[str, str], labels: dict[str, str], receiver: str) -> None:
    cmd = [
        services["AMTOOL_BIN"],
        "config",
        "routes",
        "test",
        f"--config.file={AM_CONFIG}",
        f"--verify.receivers={receiver}",
        *(f"{k}={v}" for k, v in labels.items()),
    ]
    out = ok(cmd)
    assert out.splitlines()[0].strip() == receiver, out


def test_alertmanager_config_shape_and_no_secrets() -> None:
    cfg = load_yaml(AM_CONFIG)
    assert cfg["route"]["group_by"] == ["contract", "term", "scope"]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        assert key in cfg["route"]
    (rule,) = cfg["inhibit_rules"]
    assert 'severity="breach"' in rule["source_matchers"]
    assert 'severity=~"warning|forecast"' in rule["target_matchers"]
    assert sorted(rule["equal"]) == ["contract", "scope", "term"]

    secret_keys = re.compile(r"(password|secret|token|api_key|api_url|routing_key|service_key|auth_key|credentials)$")

    def walk(node: Any, path: str) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                if secret_keys.search(str(k)) and not str(k).endswith("_file"):
                    yield f"{path}.{k}"
                yield from walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{path}[{i}]")

    assert list(walk(cfg, "")) == [], "inline secrets in alertmanager.yml (use *_file fields)"


@pytest.fixture(scope="module")
def alertmanager(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The deploy config on a real Alertmanager, on a free loopback port."""
    with alertmanager_process(AM_CONFIG, tmp_path_factory.mktemp("alertmanager")) as base:
        yield base


def test_breach_inhibits_warning_of_same_contract_term_scope(alertmanager: str) -> None:
    warning = {**BREACH, "severity": "warning", "alertname": "CckpiKpiAtRisk"}
    other_scope = {**warning, "scope": "queue:support"}
    breach = {**BREACH, "alertname": "CckpiKpiBreach"}
    http_json(f"{alertmanager}/api/v2/alerts", [{"labels": a} for a in (breach, warning, other_scope)])

    deadline = time.monotonic() + 15
    while True:
        alerts = http_json(f"{alertmanager}/api/v2/alerts")
        by_scope_sev = {(a["labels"]["scope"], a["labels"]["severity"]): a for a in alerts}
        if len(alerts) == 3 and by_scope_sev[("queue:sales", "warning")]["status"]["inhibitedBy"]:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"warning never inhibited by the breach: {json.dumps(alerts, indent=1)}")
        time.sleep(0.3)

    assert by_scope_sev[("queue:sales", "warning")]["status"]["state"] == "suppressed"
    assert by_scope_sev[("queue:sales", "breach")]["status"]["state"] == "active"
    assert by_scope_sev[("queue:support", "warning")]["status"]["state"] == "active"
    assert [r["name"] for r in by_scope_sev[("queue:sales", "breach")]["receivers"]] == ["cckpi-breach"]
    assert [r["name"] for r in by_scope_sev[("queue:support", "warning")]["receivers"]] == ["cckpi-warning"]


# --------------------------------------------------------------------------- compose, Grafana, image


def test_compose_services_and_kafka_version() -> None:
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    assert {"kafka", "worker", "ledger-exporter", "simulator", "prometheus", "alertmanager", "grafana"} <= set(services)

    version = pinned_kafka_version()
    assert services["kafka"]["image"] == f"apache/kafka:{version}", (
        f"compose runs {services['kafka']['image']}, tests use Kafka {version} (tools/kafka/pom.xml)"
    )
    kafka_env = services["kafka"]["environment"]
    assert "PLAINTEXT://kafka:9092" in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "broker" in kafka_env["KAFKA_PROCESS_ROLES"] and "controller" in kafka_env["KAFKA_PROCESS_ROLES"]

    contract = "/etc/cckpi/contracts/demo-hotline.yaml"
    assert (REPO / "deploy" / "contracts" / "demo-hotline.yaml").exists()
    worker_cmd = services["worker"]["command"]
    assert worker_cmd[0] == "worker"
    assert worker_cmd[worker_cmd.index("--contract") + 1] == contract
    assert worker_cmd[worker_cmd.index("--broker") + 1] == "kafka://kafka:9092"
    assert worker_cmd[worker_cmd.index("--metrics-port") + 1] == "9100"
    # Prometheus scrapes worker:9100 from its own container: /metrics must not be on the worker's loopback only.
    assert worker_cmd[worker_cmd.index("--metrics-addr") + 1] == "0.0.0.0"
    assert worker_cmd[worker_cmd.index("--alertmanager-url") + 1] == "http://alertmanager:9093"
    sim_cmd = services["simulator"]["command"]
    assert sim_cmd[0] == "simulate"
    assert sim_cmd[sim_cmd.index("--contract") + 1] == contract
    assert sim_cmd[sim_cmd.index("--broker") + 1] == "kafka://kafka:9092"
    for name in ("worker", "simulator"):
        assert services[name]["build"]["context"] == "."
        assert "./deploy/contracts:/etc/cckpi/contracts:ro" in services[name]["volumes"]

    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in services["alertmanager"]["volumes"]
    grafana = services["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    # No default password: compose refuses to start without GRAFANA_ADMIN_PASSWORD.
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"])

    # Every service waited on as healthy has a healthcheck.
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if cond.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} healthy: no healthcheck"


def test_compose_ledger_exporter_reads_what_the_worker_writes_and_prometheus_scrapes_it() -> None:
    """The exporter runs the cckpi image on the worker's contracts, broker and environment (Kafka security
    included), serves /metrics where Prometheus looks for it, and waits for the worker (which creates its topics)."""
    services = load_yaml(COMPOSE)["services"]
    worker, exporter = services["worker"], services["ledger-exporter"]
    cmd, worker_cmd = exporter["command"], worker["command"]
    assert cmd[0] == "ledger-exporter"
    for flag in ("--contract", "--broker"):
        assert [cmd[i + 1] for i, a in enumerate(cmd) if a == flag] == [
            worker_cmd[i + 1] for i, a in enumerate(worker_cmd) if a == flag], flag
    assert exporter["build"] == worker["build"] and exporter["image"] == worker["image"]
    assert exporter["volumes"] == worker["volumes"]
    assert exporter.get("environment") == worker.get("environment")
    assert cmd[cmd.index("--metrics-addr") + 1] == "0.0.0.0"
    port = cmd[cmd.index("--metrics-port") + 1]
    assert f"127.0.0.1:{port}:{port}" in exporter["ports"]
    assert exporter["depends_on"]["worker"]["condition"] == "service_healthy"
    assert "ledger-exporter" in services["prometheus"]["depends_on"]
    jobs = {j["job_name"]: j for j in load_yaml(PROM_CONFIG)["scrape_configs"]}
    assert [t for sc in jobs["cckpi-ledger-exporter"]["static_configs"] for t in sc["targets"]] == [
        f"ledger-exporter:{port}"]


def test_compose_file_is_valid_compose_spec() -> None:
    """docker-compose.yml against the Compose Specification's JSON schema (tests/fixtures/compose-spec)."""
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    compose = load_yaml(COMPOSE)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = {**compose, "services": {**compose["services"], "worker": {**compose["services"]["worker"],
                                                                           "portz": ["9100:9100"]}}}
    assert not validator.is_valid(broken), "the schema accepts an unknown service key: it validates nothing"


def test_compose_ports_only_on_loopback_and_no_default_secrets() -> None:
    """Every published port is bound to 127.0.0.1; no variable with a password-like name has a default."""
    compose = load_yaml(COMPOSE)
    for name, svc in compose["services"].items():
        for port in svc.get("ports") or []:
            published = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            assert str(published).startswith("127.0.0.1:"), f"{name} publishes {port} on every host interface"
    text = COMPOSE.read_text(encoding="utf-8")
    for var, default in re.findall(r"\$\{(\w+):?-([^}]*)\}", text):
        assert not re.search(r"PASSWORD|SECRET|TOKEN", var), f"${{{var}}} defaults to {default!r}"


def test_compose_healthchecks_ask_the_address_others_use() -> None:
    """A healthcheck that asks 127.0.0.1 passes while the service is unreachable from its peers (the worker's
    /metrics on loopback did): each asks its own service name, as Prometheus, Alertmanager and Grafana do."""
    services = load_yaml(COMPOSE)["services"]
    checked = {name for name, svc in services.items() if "healthcheck" in svc}
    assert checked == set(services) - {"simulator"}, "every long-running service has a healthcheck"
    for name in checked:
        test = " ".join(services[name]["healthcheck"]["test"])
        hosts = re.findall(r"(?://|--bootstrap-server )([\w.-]+):\d+", test)
        assert hosts, f"{name}: no healthcheck with a host:port"
        assert set(hosts) == {name}, f"{name}'s healthcheck asks {hosts}, not {name}"


def test_every_alertmanager_receiver_targets_a_compose_service() -> None:
    """No receiver posts to a host that is not in the stack (or needs a file that is not in the repo)."""
    services = load_yaml(COMPOSE)["services"]
    cfg = load_yaml(AM_CONFIG)
    for receiver in cfg["receivers"]:
        kinds = set(receiver) - {"name"}
        assert kinds == {"webhook_configs"}, f"{receiver['name']} has {kinds}: only the stack's webhook runs here"
        for hook in receiver["webhook_configs"]:
            host, port = re.fullmatch(r"http://([\w.-]+):(\d+)/.*", hook["url"]).groups()  # type: ignore[union-attr]
            assert host in services, f"{receiver['name']} posts to {host}, not a compose service"
            assert hook["send_resolved"] is True
            assert f"127.0.0.1:{port}:{port}" in services[host]["ports"]
    routed = {r["receiver"] for r in cfg["route"]["routes"][1]["routes"]}
    assert "cckpi-forecast" in routed


def test_grafana_provisioning() -> None:
    ds = load_yaml(GRAFANA_PROV / "datasources" / "prometheus.yml")
    (prom,) = [d for d in ds["datasources"] if d["type"] == "prometheus"]
    assert prom["uid"] == "prometheus"
    assert prom["url"] == "http://prometheus:9090"
    boards = load_yaml(GRAFANA_PROV / "dashboards" / "cckpi.yml")
    (provider,) = boards["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dockerfile_installs_project_with_cckpi_entrypoint() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M) or re.search(
        r"^FROM python:3\.11-slim", text, re.M
    )
    assert re.search(r'^ENTRYPOINT \["cckpi"\]$', text, re.M)
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for needed in ("!pyproject.toml", "!streams/", "!contracts/"):
        assert needed in ignore, f".dockerignore would leave out {needed[1:]}"
