"""A throw-away certificate authority for the secure-broker tests (openssl): a CA, the broker's certificate for
127.0.0.1 and localhost, and a client certificate for mutual TLS."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.brokers.secure import BrokerTls


@dataclass(frozen=True)
class Certificates:
    """PEM files made by `make_certificates`."""

    ca: Path
    broker: BrokerTls
    client_cert: Path
    client_key: Path
    """Encrypted with `client_key_password`."""
    client_key_password: str


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(name: str, subject: str, cwd: Path, extensions: str) -> None:
    """`name.key` (EC, PKCS#8, unencrypted) and `name.pem` signed by the CA in `cwd`."""
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


def make_certificates(directory: Path) -> Certificates:
    """A self-signed CA and the certificates it signs, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cckpi test CA", cwd=directory)
    _signed("broker", "/CN=localhost", directory, "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _signed("client", "/CN=cckpi-client", directory, "extendedKeyUsage=clientAuth\n")
    keystore = directory / "broker-keystore.pem"
    keystore.write_text((directory / "broker.key").read_text() + (directory / "broker.pem").read_text())
    password = "client-key-secret"
    _openssl("pkcs8", "-topk8", "-in", "client.key", "-out", "client-encrypted.key", "-passout", f"pass:{password}",
             cwd=directory)
    return Certificates(directory / "ca.pem", BrokerTls(keystore, directory / "ca.pem"), directory / "client.pem",
                            directory / "client-encrypted.key", password)
