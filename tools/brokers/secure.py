"""Apache Kafka with a SASL_SSL listener (PLAIN and SCRAM users) and an SSL listener that requires a client
certificate, beside the PLAINTEXT one that readiness probes and the broker itself use: how operators run Kafka.

The caller brings the TLS material (PEM files; e.g. a self-signed CA made by the test) and the users; SCRAM users are
written into the KRaft metadata when the storage is formatted (``kafka-storage format --add-scram``), PLAIN users
into the listener's JAAS configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.brokers.apache import ApacheKafkaBroker
from tools.brokers.base import free_port

__all__ = ["SCRAM_MECHANISMS", "BrokerTls", "SecureKafkaBroker"]

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class BrokerTls:
    """The broker's TLS material: its certificate and unencrypted PKCS#8 key in one PEM file, and the CA that signs
    the client certificates it accepts on the mutual-TLS listener."""

    keystore: Path
    truststore: Path


class SecureKafkaBroker(ApacheKafkaBroker):
    """``ApacheKafkaBroker`` plus ``SASL_SSL://host:sasl_port`` (PLAIN, SCRAM-SHA-256/512) and ``SSL://host:ssl_port``
    (client certificate required); ``users`` maps user names to passwords, for every mechanism."""

    def __init__(self, tls: BrokerTls, users: Mapping[str, str], **options: Any) -> None:
        """Configure the broker; ``options`` are ``ApacheKafkaBroker``'s."""
        super().__init__(**options)
        self.tls = tls
        self.users = dict(users)
        self.sasl_port: int | None = None
        self.ssl_port: int | None = None

    @property
    def sasl_bootstrap(self) -> str:
        """Bootstrap servers of the SASL_SSL listener."""
        return f"{self.host}:{self.sasl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        """Bootstrap servers of the mutual-TLS listener."""
        return f"{self.host}:{self.ssl_port}"

    def _choose_ports(self) -> None:
        """The plaintext and controller ports, then two more for the secure listeners (all distinct)."""
        super()._choose_ports()
        taken = {self.port, self.controller_port}
        ports: list[int] = []
        while len(ports) < 2:
            port = free_port(self.host)
            if port not in taken:
                taken.add(port)
                ports.append(port)
        self.sasl_port, self.ssl_port = ports

    def server_properties(self, workdir: Path) -> dict[str, str]:
        """The plain broker's properties with the two secure listeners added."""
        props = super().server_properties(workdir)
        plain = "".join(f' user_{name}="{password}"' for name, password in self.users.items())
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        props.update({
            "listeners": f"{props['listeners']},SASL_SSL://{self.sasl_bootstrap},SSL://{self.ssl_bootstrap}",
            "advertised.listeners": f"{props['advertised.listeners']},SASL_SSL://{self.sasl_bootstrap},"
                                    f"SSL://{self.ssl_bootstrap}",
            "listener.security.protocol.map": f"{props['listener.security.protocol.map']},SASL_SSL:SASL_SSL,SSL:SSL",
            "sasl.enabled.mechanisms": ",".join(("PLAIN", *SCRAM_MECHANISMS)),
            "listener.name.sasl_ssl.plain.sasl.jaas.config":
                f"org.apache.kafka.common.security.plain.PlainLoginModule required{plain};",
            **{f"listener.name.sasl_ssl.{m.lower()}.sasl.jaas.config": scram for m in SCRAM_MECHANISMS},
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.truststore),
            "listener.name.ssl.ssl.client.auth": "required",
        })
        return props

    def _format_options(self) -> list[str]:
        """Every user, for both SCRAM mechanisms, written at format time."""
        return [option for name, password in self.users.items() for mechanism in SCRAM_MECHANISMS
                for option in ("--add-scram", f"{mechanism}=[name={name},password={password}]")]

    def stop(self) -> None:
        """Stop the broker and forget the secure listeners' auto-chosen ports."""
        super().stop()
        self.sasl_port = self.ssl_port = None
