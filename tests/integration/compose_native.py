"""Run docker-compose.yml's services natively, each in its own network namespace (tests/integration/netns.py):
the compose file's command, environment and configs, translated only where an image differs from this machine.

Translations (all of them):
- image entrypoints: `cckpi` -> `python -m streams`; `python` -> this interpreter; prom/prometheus and
  prom/alertmanager -> the Debian binaries of tools/services/fetch.sh (Alertmanager through its wrapper);
  apache/kafka -> the Maven-assembled broker of tools/brokers, its KAFKA_* environment turned into
  server.properties the way the image does (KAFKA_FOO_BAR -> foo.bar, `__` -> `_`, `___` -> `-`);
- container paths: bind mounts (`./deploy/x:/etc/x`) -> the repo's files, named volumes and the image's own
  directories (Kafka's log dir, the home directory) -> a directory of the test;
- healthchecks: run in the service's namespace as written; `wget -q -O /dev/null URL` becomes a Python GET of the
  same URL when wget is missing; Kafka's `kafka-broker-api-versions.sh --bootstrap-server H:P` (not in the
  assembled jars) becomes the same ApiVersions + Metadata question to H:P (tools.brokers.probe_metadata).
The environment of a service is the compose one plus PATH, HOME (its own directory) and the image's ENV (for the
cckpi image, PYTHONPATH: the code it installs is this tree's).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.integration.netns import Network
from tools.brokers import ApacheKafkaBroker
from tools.brokers.base import _die_with_parent  # SIGTERM to the child when the test dies

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
IMAGE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
"""ENV of the Dockerfile's runtime image (and what the python image's users expect)."""
IMAGE_PATHS = {"/app/contracts": ROOT / "contracts"}
"""Paths the Dockerfile bakes into the cckpi image."""
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("?") and unset:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return value or ""

    return _INTERPOLATION.sub(one, text)


def load_compose(env: Mapping[str, str], path: Path = COMPOSE) -> dict[str, Any]:
    """docker-compose.yml with variables interpolated from `env` (as `docker compose` reads it)."""

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return interpolate(node, env)
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    compose: dict[str, Any] = walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return compose


def start_order(services: Mapping[str, Any], wanted: Sequence[str]) -> list[str]:
    """`wanted` ordered so that each service comes after what it depends on (compose's start order)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for dep in services[name].get("depends_on") or {}:
            if dep in wanted:
                visit(dep, (*path, name))
        order.append(name)

    for name in wanted:
        visit(name, ())
    return order


def path_map(service: Mapping[str, Any], workdir: Path) -> dict[str, Path]:
    """Container path -> native path: bind mounts to the repo, named volumes to `workdir/<volume>`."""
    mapping: dict[str, Path] = dict(IMAGE_PATHS)
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        native = ROOT / source if source.startswith(".") else workdir / source
        if not source.startswith("."):
            native.mkdir(parents=True, exist_ok=True)
        mapping[target] = native
    return mapping


def translate_path(arg: str, mapping: Mapping[str, Path]) -> str:
    """`arg` (or the value of `--flag=arg`) with a container path prefix replaced by its native path."""
    flag, sep, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
    for target in sorted(mapping, key=len, reverse=True):
        if value == target or value.startswith(target.rstrip("/") + "/"):
            return f"{flag}{sep}{mapping[target]}{value[len(target.rstrip('/')):]}"
    return arg


def environment(service: Mapping[str, Any], home: Path) -> dict[str, str]:
    """The service's compose environment plus what its image provides."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **IMAGE_ENV,
            **{k: str(v) for k, v in env.items()}}


def kafka_properties(env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """server.properties from the apache/kafka image's KAFKA_* variables; log.dirs moved to `data_dir`."""
    props = {}
    for key, value in env.items():
        if key.startswith("KAFKA_") and key not in {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS"}:
            name = key.removeprefix("KAFKA_").lower().replace("___", "-").replace("__", "#").replace("_", ".")
            props[name.replace("#", "_")] = value
    props["log.dirs"] = str(data_dir)
    return props


@dataclass
class Native:
    """One service as this machine runs it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    healthcheck: list[str] | None


def healthcheck_argv(service: Mapping[str, Any]) -> list[str] | None:
    """The service's healthcheck as an argv to run in its namespace (translated as the module docstring says)."""
    test = (service.get("healthcheck") or {}).get("test")
    if not test:
        return None
    kind, *rest = test
    if kind == "CMD-SHELL":
        match = re.search(r"kafka-broker-api-versions\.sh --bootstrap-server ([\w.-]+):(\d+)", rest[0])
        assert match, f"no native translation for healthcheck {rest[0]!r}"
        host, port = match.groups()
        return [sys.executable, "-c", f"from tools.brokers import probe_metadata; "
                                      f"assert probe_metadata({host!r}, {port}, timeout=3) > 0"]
    assert kind == "CMD", f"healthcheck kind {kind}"
    if rest[0] == "python":
        return [sys.executable, *rest[1:]]
    if rest[0] == "wget" and shutil.which("wget") is None:
        return [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen({rest[-1]!r}, timeout=3)"]
    return list(rest)


def native_service(name: str, service: Mapping[str, Any], workdir: Path, bins: Mapping[str, str]) -> Native:
    """Translate one compose service (see the module docstring); Kafka is started by `KafkaInNamespace`."""
    home = workdir / name
    home.mkdir(parents=True, exist_ok=True)
    mapping = path_map(service, home)
    command = [translate_path(str(a), mapping) for a in service.get("command") or []]
    image = service.get("image", "")
    check = healthcheck_argv(service)
    env = environment(service, home)
    if "build" in service:  # the cckpi image: ENTRYPOINT ["cckpi"], WORKDIR /app (here: its own directory)
        env["PYTHONPATH"] = str(ROOT)  # the image installs this tree, whatever checkout the interpreter's is
        return Native(name, [sys.executable, "-m", "streams", *command], env, home, check)
    if image.startswith("python:"):
        assert command[0] == "python", command
        return Native(name, [sys.executable, *command[1:]], env, home, check)
    if image.startswith("prom/prometheus:"):
        return Native(name, [bins["PROMETHEUS_BIN"], *command], env, mapping.get("/prometheus", home), check)
    if image.startswith("prom/alertmanager:"):
        env.update({k: bins[k] for k in ("ALERTMANAGER_BIN", "ALERTMANAGER_SHARE")})
        return Native(name, ["bash", bins["ALERTMANAGER_RUN"], *command], env,
                      mapping.get("/alertmanager", home), check)
    raise AssertionError(f"no native translation for service {name} (image {image!r})")


class KafkaInNamespace(ApacheKafkaBroker):
    """The real Apache Kafka broker of the tests, configured from the compose service and run in its namespace."""

    kind = "kafka-compose"

    def __init__(self, service: Mapping[str, Any], net: Network, name: str = "kafka") -> None:
        env = environment(service, Path("/nonexistent"))
        listeners = dict(item.split("://", 1) for item in env["KAFKA_LISTENERS"].split(","))
        port = int(listeners[env["KAFKA_INTER_BROKER_LISTENER_NAME"]].rsplit(":", 1)[1])
        controller = int(listeners[env["KAFKA_CONTROLLER_LISTENER_NAMES"]].rsplit(":", 1)[1])
        super().__init__(port, controller_port=controller, startup_timeout=120.0)
        self.host = net.addresses[name]  # probes from the test process reach it over the bridge
        self.cluster_id = env["CLUSTER_ID"]
        self.compose_env = env
        self.prefix = net.exec_prefix(name)

    def server_properties(self, workdir: Path) -> dict[str, str]:
        """Exactly what the image would write from the compose environment (log.dirs moved here)."""
        return kafka_properties(self.compose_env, workdir / "data")

    def _choose_ports(self) -> None:
        """The compose ports, in the namespace (nothing to probe for: the namespace is new)."""

    def _command(self, workdir: Path) -> Sequence[str]:
        return [*self.prefix, *super()._command(workdir)]


@dataclass
class Running:
    """A started native service."""

    native: Native
    proc: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def start(native: Native, net: Network, logs: Path) -> Running:
    """Start a service in its namespace, in its own process group, output to `logs/<name>.log`."""
    log = logs / f"{native.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*net.exec_prefix(native.name), *native.argv], cwd=native.cwd, env=native.env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent)
    return Running(native, proc, log)


def stop(running: Running, timeout: float = 15.0) -> None:
    """SIGTERM the service's process group, SIGKILL what is left after `timeout`."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.proc.wait(wait)
            break


def wait_healthy(running: Running, net: Network, timeout: float = 60.0) -> float:
    """Run the service's healthcheck in its namespace until it passes; return the seconds it took."""
    check = running.native.healthcheck
    assert check, f"{running.native.name} has no healthcheck"
    began = time.monotonic()
    while True:
        assert running.proc.poll() is None, f"{running.native.name} exited:\n{running.tail()}"
        result = subprocess.run([*net.exec_prefix(running.native.name), *check], capture_output=True, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30, check=False)
        if result.returncode == 0:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, (
            f"{running.native.name} healthcheck {check} failing after {timeout:.0f}s: "
            f"{result.stderr.decode(errors='replace')[-500:]}\n{running.tail()}")
        time.sleep(0.5)


@contextlib.contextmanager
def running_services(natives: Sequence[Native], net: Network, logs: Path) -> Iterator[dict[str, Running]]:
    """Start services in order (each waited on healthy when it has a healthcheck); stop all in reverse after."""
    started: dict[str, Running] = {}
    try:
        for native in natives:
            started[native.name] = start(native, net, logs)
            if native.healthcheck:
                wait_healthy(started[native.name], net)
        yield started
    finally:
        for running in reversed(started.values()):
            stop(running)
