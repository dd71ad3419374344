"""Kafka as operators run it: a real Apache Kafka broker with a SASL_SSL listener (PLAIN, SCRAM-SHA-256/512) and a
mutual-TLS listener, on a self-signed CA this test makes. Every client speaks only to the secure listeners:
`cckpi replay` publishes, the worker (its source loop, changelog store, admin client and Faust) consumes and
publishes windows, `report --from-topic` and `ledger --broker` read them; a wrong password, plaintext to the SASL
port and a missing client certificate are each one line and exit 2, never a hang or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.kafka_io import topics
from streams.kafka_io.connect import KafkaAddress
from streams.kafka_io.read import read_topic
from streams.kafka_io.security import KafkaSecurity
from tests.integration.kafka_tls import Certificates, make_certificates
from tests.integration.support import ROOT, worker_process
from tools.brokers import ensure_kafka_jars
from tools.brokers.secure import SecureKafkaBroker

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "tests" / "fixtures" / "adapters"
CONTRACT = FIXTURES / "anonymous-bank-contract.yaml"
CALLS = FIXTURES / "anonymous-bank-01.txt"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SecureKafkaBroker, Certificates]]:
    """One secure broker for the module, its certificates made first."""
    certificates = make_certificates(tmp_path_factory.mktemp("tls"))
    ensure_kafka_jars()
    broker = SecureKafkaBroker(certificates.broker, USERS)
    broker.start()
    try:
        yield broker, certificates
    finally:
        broker.stop()


def sasl_options(mechanism: str, user: str, ca: Path) -> list[str]:
    """The command-line options of a SASL_SSL client (the password comes from the environment or a file)."""
    return ["--kafka-sasl-mechanism", mechanism, "--kafka-username", user, "--kafka-ca-file", str(ca)]


def cckpi(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cckpi` as a user does (its own process), the SASL password in CCKPI_KAFKA_PASSWORD."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKPI_KAFKA_")}
    env |= {"CCKPI_KAFKA_PASSWORD": password} if password else {}
    return subprocess.run([sys.executable, "-m", "streams", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, one error line naming the refusal, no traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr
    assert all(word in errors[0] for word in words), errors[0]


def windows_over(address: KafkaAddress, timeout: float) -> list[dict[str, object]]:
    """The window records on `cckpi.kpi-windows`, read over `address` until some are there."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in read_topic(address, topics.KPI_WINDOWS, timeout=15) if isinstance(r, dict)]
        if records or time.monotonic() > deadline:
            return records
        time.sleep(1)


def test_the_worker_consumes_and_publishes_over_sasl_ssl(secure: tuple[SecureKafkaBroker, Certificates],
                                                        tmp_path: Path) -> None:
    broker, tls = secure
    replayed = cckpi("replay", "--source", "anonymous-bank", str(CALLS), "--as-fast-as-possible",
                     "--broker", broker.sasl_bootstrap, *sasl_options("SCRAM-SHA-512", "alice", tls.ca),
                     password="alice-secret")
    assert replayed.returncode == 0, replayed.stderr
    assert "published 22 events" in replayed.stderr

    password = tmp_path / "bob.password"
    password.write_text("bob-secret\n")  # a trailing newline, as editors write it, is not part of the password
    with worker_process(broker.sasl_bootstrap, tmp_path, *sasl_options("SCRAM-SHA-256", "bob", tls.ca),
                        "--kafka-password-file", str(password), contract=CONTRACT):
        plain = KafkaSecurity("SASL_SSL", "PLAIN", "alice", "alice-secret", cafile=tls.ca)
        windows = windows_over(KafkaAddress(broker.sasl_bootstrap, plain), timeout=40)
    assert {w["contract"] for w in windows} == {"ab-fixture"}
    assert {w["term"] for w in windows} == {"answer-rate-1h", "talk-time-1h"}

    out = tmp_path / "statement"
    report = cckpi("report", "-c", str(CONTRACT), "--period", "1999-01", "--from-topic", "--broker",
                   broker.sasl_bootstrap, "--out", str(out), *sasl_options("PLAIN", "alice", tls.ca),
                   password="alice-secret")
    assert report.returncode == 0, report.stderr
    assert len((out / "records" / "kpi-windows.jsonl").read_text().splitlines()) == len(windows)
    ledger = cckpi("ledger", "-c", str(CONTRACT), "--period", "1999-01", "--broker", broker.sasl_bootstrap,
                   "--format", "json", *sasl_options("SCRAM-SHA-512", "alice", tls.ca), password="alice-secret")
    assert ledger.returncode == 0, ledger.stderr
    assert '"period": "1999-01"' in ledger.stdout


def test_mutual_tls_with_an_encrypted_client_key(secure: tuple[SecureKafkaBroker, Certificates],
                                                 tmp_path: Path) -> None:
    broker, tls = secure
    key_password = tmp_path / "key.password"
    key_password.write_text(tls.client_key_password)
    mtls = ["--kafka-ca-file", str(tls.ca), "--kafka-cert-file", str(tls.client_cert), "--kafka-key-file",
            str(tls.client_key), "--kafka-key-password-file", str(key_password)]
    replayed = cckpi("replay", "--source", "anonymous-bank", str(CALLS), "--as-fast-as-possible",
                     "--broker", broker.ssl_bootstrap, *mtls)  # SSL: inferred from the certificate files
    assert replayed.returncode == 0, replayed.stderr
    without_certificate = cckpi("ledger", "-c", str(CONTRACT), "--period", "1999-01", "--broker",
                                broker.ssl_bootstrap, "--kafka-ca-file", str(tls.ca))
    assert_one_line_refusal(without_certificate, "refused the connection", "SSL")


def test_a_wrong_password_is_one_line_and_exit_2(secure: tuple[SecureKafkaBroker, Certificates],
                                                 tmp_path: Path) -> None:
    broker, tls = secure
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        replayed = cckpi("replay", "--source", "anonymous-bank", str(CALLS), "--broker", broker.sasl_bootstrap,
                         *sasl_options(mechanism, "alice", tls.ca), password="not-alices")
        assert_one_line_refusal(replayed, "refused the connection", mechanism, "Authentication failed")
        assert "not-alices" not in replayed.stderr
    worker = cckpi("worker", "-c", str(CONTRACT), "--broker", broker.sasl_bootstrap, "--data-dir",
                   str(tmp_path / "faust"), "--broker-wait", "50", *sasl_options("SCRAM-SHA-256", "bob", tls.ca),
                   password="alice-secret")  # refused at once, not after --broker-wait (which would time out here)
    assert_one_line_refusal(worker, "refused the connection", "as bob", "Authentication failed")
    report = cckpi("report", "-c", str(CONTRACT), "--period", "1999-01", "--from-topic", "--broker",
                   broker.sasl_bootstrap, "--out", str(tmp_path / "out"), *sasl_options("PLAIN", "bob", tls.ca),
                   password="wrong")
    assert_one_line_refusal(report, "refused the connection", "Authentication failed")


def test_plaintext_or_an_untrusted_certificate_to_the_sasl_port_fails(
        secure: tuple[SecureKafkaBroker, Certificates], tmp_path: Path) -> None:
    broker, _ = secure
    plaintext = cckpi("replay", "--source", "anonymous-bank", str(CALLS), "--broker", broker.sasl_bootstrap)
    assert_one_line_refusal(plaintext, "refused the connection", "(PLAINTEXT)", "security protocol")
    read = cckpi("report", "-c", str(CONTRACT), "--period", "1999-01", "--from-topic", "--broker",
                 broker.sasl_bootstrap, "--out", str(tmp_path / "out"))
    assert_one_line_refusal(read, "refused the connection", "(PLAINTEXT)")
    untrusted = cckpi("ledger", "-c", str(CONTRACT), "--period", "1999-01", "--broker", broker.sasl_bootstrap,
                      "--kafka-sasl-mechanism", "PLAIN", "--kafka-username", "alice", password="alice-secret")
    assert_one_line_refusal(untrusted, "refused the connection", "CERTIFICATE_VERIFY_FAILED")
