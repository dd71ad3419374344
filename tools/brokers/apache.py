"""Real Apache Kafka (single-node KRaft) from the Maven-assembled jars in ``.cache/kafka-<version>/libs``.

Tests and the benchmark run against this broker, not an emulation; ``tools/kafka/assemble.sh`` fetches the jars once.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.brokers.base import BrokerError, BrokerStartError, LocalBroker, free_port

__all__ = [
    "KAFKA_VERSION",
    "ApacheKafkaBroker",
    "ensure_kafka_jars",
    "java_executable",
    "kafka_home",
    "kafka_jars_ready",
]

#: Broker version; must match tools/kafka/pom.xml and the image in docker-compose.yml.
KAFKA_VERSION = "4.1.1"

_REPO_ROOT = Path(__file__).resolve().parents[2]  # tools/brokers/apache.py
_ASSEMBLE = _REPO_ROOT / "tools" / "kafka" / "assemble.sh"

# Single-node KRaft settings that make a real broker behave well for tests and the benchmark.
_DEFAULT_CONFIG: dict[str, str] = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "auto.create.topics.enable": "true",
    "delete.topic.enable": "true",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # Fewer internal partitions than production's 50: the first consumer group / transaction starts faster.
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.num.partitions": "5",
    "group.initial.rebalance.delay.ms": "0",
}

_LOG4J2 = """\
status = warn
name = cckpi-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def kafka_home() -> Path:
    """Directory holding ``libs/`` (``$CCKPI_KAFKA_HOME`` or ``<repo>/.cache/kafka-<version>``)."""
    override = os.environ.get("CCKPI_KAFKA_HOME")
    return Path(override) if override else _REPO_ROOT / ".cache" / f"kafka-{KAFKA_VERSION}"


def kafka_jars_ready(home: Path | None = None) -> bool:
    """True when the broker classpath has been assembled completely."""
    libs = (home or kafka_home()) / "libs"
    return (libs / ".complete").is_file() and (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()


def java_executable() -> str | None:
    """Path of ``java`` from ``$JAVA_HOME`` or ``PATH``, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def ensure_kafka_jars(timeout: float = 900.0) -> Path:
    """Return the ``libs`` directory after running tools/kafka/assemble.sh (Maven; a no-op when up to date)."""
    home = kafka_home()
    if not _ASSEMBLE.is_file():
        if kafka_jars_ready(home):
            return home / "libs"
        raise BrokerError(f"Kafka jars missing in {home / 'libs'} and {_ASSEMBLE} not found")
    try:
        result = subprocess.run(
            ["bash", str(_ASSEMBLE)],
            env={**os.environ, "KAFKA_HOME_DIR": str(home)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"assembling Kafka jars took more than {timeout:.0f}s") from exc
    if result.returncode != 0 or not kafka_jars_ready(home):
        raise BrokerError(f"assembling Kafka jars failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return home / "libs"


def _cluster_id() -> str:
    """A random KRaft cluster id (URL-safe base64 of a UUID, as ``kafka-storage random-uuid`` prints).

    Never one starting with '-': the storage tool would read it as an option (1 start in 64 failed that way).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class ApacheKafkaBroker(LocalBroker):
    """Apache Kafka (``KAFKA_VERSION``) as one KRaft broker+controller process on loopback, data in a temp dir."""

    kind = "kafka"

    def __init__(
        self,
        port: int | None = None,
        *,
        controller_port: int | None = None,
        num_partitions: int = 1,
        config: Mapping[str, str | int | bool] | None = None,
        heap: str = "1g",
        jvm_options: Sequence[str] = (),
        log_level: str = "INFO",
        kafka_dir: Path | None = None,
        assemble: bool = True,
        startup_timeout: float = 90.0,
        stop_timeout: float = 15.0,
    ) -> None:
        """Configure the broker; ``config`` overrides any server.properties key; ports default to free ones."""
        super().__init__(port, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._requested_controller_port = controller_port
        self.controller_port: int | None = controller_port
        self.num_partitions = num_partitions
        self.config_overrides = {k: _prop(v) for k, v in (config or {}).items()}
        self.heap = heap
        self.jvm_options = list(jvm_options)
        self.log_level = log_level
        self.kafka_dir = kafka_dir
        self.assemble = assemble
        self.cluster_id = _cluster_id()

    @property
    def libs(self) -> Path:
        """Directory with the broker jars."""
        return (self.kafka_dir or kafka_home()) / "libs"

    def server_properties(self, workdir: Path) -> dict[str, str]:
        """The full server.properties for this broker (defaults, ports, overrides)."""
        props = dict(_DEFAULT_CONFIG)
        props.update(
            {
                "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
                "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
                "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
                "log.dirs": str(workdir / "data"),
                "num.partitions": str(self.num_partitions),
            }
        )
        props.update(self.config_overrides)
        return props

    def _choose_ports(self) -> None:
        """Pick free client and controller ports (distinct) unless given."""
        super()._choose_ports()
        port = self._requested_controller_port
        while port is None or port == self._port:
            port = free_port(self.host)
        self.controller_port = port

    def _java(self) -> str:
        """The java launcher, or a clear error."""
        java = java_executable()
        if java is None:
            raise BrokerStartError("java not found (set JAVA_HOME or apt-get install openjdk-17-jre-headless)")
        return java

    def _jvm_args(self, workdir: Path) -> list[str]:
        """JVM flags: heap, GC, and logging to ``workdir/server.log`` instead of stdout."""
        return [
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={workdir}",
            *self.jvm_options,
        ]

    def _prepare(self, workdir: Path) -> None:
        """Write server.properties and log4j2.properties, then format the KRaft storage."""
        if not kafka_jars_ready(self.kafka_dir):
            if not self.assemble:
                raise BrokerStartError(f"Kafka jars not assembled in {self.libs}; run `make kafka-jars`")
            if self.kafka_dir is not None:
                raise BrokerStartError(f"Kafka jars not assembled in {self.libs}")
            ensure_kafka_jars()
        (workdir / "data").mkdir()
        props = self.server_properties(workdir)
        (workdir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (workdir / "log4j2.properties").write_text(_LOG4J2.format(log=workdir / "server.log", level=self.log_level))
        argv = [
            self._java(),
            *self._jvm_args(workdir),
            "-cp",
            f"{self.libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id,
            "-c",
            str(workdir / "server.properties"),
            "--ignore-formatted",
            *self._format_options(),
        ]
        with (workdir / "console.log").open("ab") as out:
            try:
                code = subprocess.run(
                    argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=120, check=False
                ).returncode
            except subprocess.TimeoutExpired as exc:
                raise BrokerStartError(f"kafka storage format timed out\n{self.log_tail()}") from exc
        if code != 0:
            raise BrokerStartError(f"kafka storage format failed with code {code}\n{self.log_tail()}")

    def _format_options(self) -> list[str]:
        """Extra options of ``kafka-storage format`` (e.g. ``--add-scram`` users); none by default."""
        return []

    def _command(self, workdir: Path) -> Sequence[str]:
        """``java -cp 'libs/*' kafka.Kafka server.properties``."""
        return [
            self._java(),
            *self._jvm_args(workdir),
            "-cp",
            f"{self.libs}/*",
            "kafka.Kafka",
            str(workdir / "server.properties"),
        ]

    def _log_files(self, workdir: Path) -> list[Path]:
        """JVM console output and the broker's log4j file."""
        return [workdir / "console.log", workdir / "server.log"]

    def stop(self) -> None:
        """Stop the broker and forget auto-chosen ports."""
        super().stop()
        if self._requested_controller_port is None:
            self.controller_port = None


def _prop(value: str | int | bool) -> str:
    """Render a Python value as a server.properties value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
