"""The Kubernetes example (deploy/kubernetes/): every manifest valid against the Kubernetes JSON schemas
(kubernetes-validate, offline, strict: unknown fields are errors), and consistent with itself, the worker and the
ledger exporter."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streams.contracts.loader import parse_contract

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
VERSIONS = ("1.29.0", "1.37.0")
"""Oldest and newest Kubernetes versions validated against."""
NOT_KUBERNETES = {"Kustomization"}
"""Kinds of the folder that are kubectl's, not the API server's (no schema)."""


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) of every YAML document in deploy/kubernetes/."""
    found = [(path.name, doc) for path in sorted(KUBERNETES.glob("*.yaml"))
             for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    assert found, "no manifests"
    return found


def by_kind(kind: str, component: str = "worker") -> dict[str, Any]:
    """The one document of this kind (of this `app.kubernetes.io/component` when there are several)."""
    docs = [d for _, d in documents() if d["kind"] == kind]
    if len(docs) > 1:
        docs = [d for d in docs if d["metadata"]["labels"].get("app.kubernetes.io/component") == component]
    (doc,) = docs
    return doc


def container_of(component: str) -> dict[str, Any]:
    """The one container of the component's Deployment."""
    (container,) = by_kind("Deployment", component)["spec"]["template"]["spec"]["containers"]
    return container


def arg_values(args: list[str], *flags: str) -> list[str]:
    """The value of every `flag value` pair of `args` whose flag is one of `flags`."""
    return [args[i + 1] for i, a in enumerate(args) if a in flags]


def validate(doc: dict[str, Any], version: str) -> None:
    """Raises kubernetes_validate.ValidationError when the document does not follow the schema."""
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_follows_the_kubernetes_schema(version: str) -> None:
    problems = []
    for name, doc in documents():
        if doc["kind"] not in NOT_KUBERNETES:
            try:
                validate(doc, version)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{name} ({doc['kind']}): {exc.message} at {list(exc.path)}")
    assert problems == []


def test_the_validator_refuses_a_broken_manifest() -> None:
    """The check can fail: a probe on a port list, and an unknown field (strict), are refused."""
    deployment = copy.deepcopy(by_kind("Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["port"] = [9100]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment, VERSIONS[-1])
    typo = copy.deepcopy(by_kind("Service"))
    typo["spec"]["prots"] = typo["spec"].pop("ports")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(typo, VERSIONS[-1])


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = by_kind("Kustomization")["resources"]
    names = {name for name, doc in documents() if doc["kind"] not in NOT_KUBERNETES | {"Secret"}}
    assert sorted(listed) == sorted(names)


def test_probes_ask_the_health_endpoints_on_the_served_port() -> None:
    spec = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    args = container["args"]
    port = args[args.index("--metrics-port") + 1]
    assert args[args.index("--metrics-addr") + 1] == "0.0.0.0"  # the kubelet asks the pod IP, not loopback
    (named,) = [p for p in container["ports"] if p["name"] == "metrics"]
    assert str(named["containerPort"]) == port
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert {k: (p["path"], p["port"]) for k, p in probes.items()} == {
        "startupProbe": ("/healthz", "metrics"), "livenessProbe": ("/healthz", "metrics"),
        "readinessProbe": ("/readyz", "metrics")}
    service = by_kind("Service")
    assert service["spec"]["selector"] == by_kind("Deployment")["spec"]["selector"]["matchLabels"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]


def test_settings_come_from_the_environment_and_secrets_from_the_secret() -> None:
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert all(name.startswith("CCKPI_") for name in env)
    expanded = {a[2:-1] for a in container["args"] if a.startswith("$(")}
    assert expanded and expanded <= set(env), "every $(VAR) in the arguments is defined"
    secret_keys = set(by_kind("Secret")["stringData"])
    from_secret = {e["valueFrom"]["secretKeyRef"]["key"] for e in env.values() if "valueFrom" in e}
    assert from_secret == secret_keys
    assert all("PASSWORD" not in name or "valueFrom" in e for name, e in env.items()), "no literal password"


def test_the_contracts_config_map_is_the_compose_contract_and_the_worker_reads_it() -> None:
    data = by_kind("ConfigMap")["data"]
    assert data == {"demo-hotline.yaml": (ROOT / "deploy" / "contracts" / "demo-hotline.yaml").read_text("utf-8")}
    for name, text in data.items():
        assert parse_contract(text, name).terms
    deployment = by_kind("Deployment")["spec"]["template"]["spec"]
    (mount,) = [m for m in deployment["containers"][0]["volumeMounts"] if m["name"] == "contracts"]
    (volume,) = [v for v in deployment["volumes"] if v["name"] == "contracts"]
    assert volume["configMap"]["name"] == by_kind("ConfigMap")["metadata"]["name"]
    args = deployment["containers"][0]["args"]
    contracts = [args[i + 1] for i, a in enumerate(args) if a in ("--contract", "-c")]
    assert contracts == [f"{mount['mountPath']}/{name}" for name in data]


def test_the_ledger_exporter_reads_what_the_worker_writes_and_is_scraped_like_it() -> None:
    """One exporter (a reader, state-free) on the worker's contracts ConfigMap, broker and Kafka settings, its
    metrics port served on the pod's interfaces, probed, and announced to Prometheus as the worker's Service is."""
    worker, exporter = container_of("worker"), container_of("ledger-exporter")
    deployment = by_kind("Deployment", "ledger-exporter")
    assert deployment["spec"]["replicas"] == 1
    args = exporter["args"]
    assert args[0] == "ledger-exporter"
    assert arg_values(args, "--contract", "-c") == arg_values(worker["args"], "--contract", "-c")
    env, worker_env = ({e["name"]: e for e in c["env"]} for c in (exporter, worker))
    kafka = {name for name in worker_env if name == "CCKPI_BROKER" or name.startswith("CCKPI_KAFKA_")}
    assert kafka and {name: env.get(name) for name in kafka} == {name: worker_env[name] for name in kafka}
    assert arg_values(args, "--broker") == arg_values(worker["args"], "--broker")
    assert {a[2:-1] for a in args if a.startswith("$(")} <= set(env), "every $(VAR) in the arguments is defined"
    assert arg_values(args, "--metrics-addr") == ["0.0.0.0"]
    (port,) = arg_values(args, "--metrics-port")
    (named,) = [p for p in exporter["ports"] if p["name"] == "metrics"]
    assert str(named["containerPort"]) == port
    assert {exporter[k]["httpGet"]["port"] for k in ("startupProbe", "livenessProbe", "readinessProbe")} == {"metrics"}
    spec = deployment["spec"]["template"]["spec"]
    assert [v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v] == [
        by_kind("ConfigMap")["metadata"]["name"]]
    assert [m["mountPath"] for m in exporter["volumeMounts"] if m["name"] == "contracts"] == [
        m["mountPath"] for m in worker["volumeMounts"] if m["name"] == "contracts"]
    service, worker_service = by_kind("Service", "ledger-exporter"), by_kind("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] != worker_service["spec"]["selector"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]
    annotations = service["metadata"]["annotations"]
    assert annotations.keys() == worker_service["metadata"]["annotations"].keys()
    assert annotations["prometheus.io/port"] == port
