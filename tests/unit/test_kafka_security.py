"""Kafka security settings: the checked value, what each client library gets from it, the address that carries it,
and the command-line options (flags, `CCKPI_KAFKA_*` variables, password files) that make it."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io.connect import KafkaAddress, bootstrap_servers, kafka_client, security_of
from streams.kafka_io.security import (
    PLAINTEXT,
    KafkaSecurity,
    KafkaSecurityError,
    client_options,
    faust_credentials,
)

CALLS = Path(__file__).parents[1] / "fixtures" / "adapters" / "anonymous-bank-01.txt"
DEMO = Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml"


def scram(**changes: Any) -> KafkaSecurity:
    """SASL_SSL with SCRAM-SHA-512 as alice, changed as given."""
    return KafkaSecurity(**{"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                            "username": "alice", "password": "s3cret", **changes})


def test_names_are_normalised() -> None:
    security = KafkaSecurity("sasl_ssl", "scram_sha_256", "alice", "s3cret")
    assert (security.security_protocol, security.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
    assert security.sasl and security.tls and security.describe() == "SASL_SSL, SCRAM-SHA-256 as alice"
    assert not PLAINTEXT.sasl and not PLAINTEXT.tls and PLAINTEXT.describe() == "PLAINTEXT"


@pytest.mark.parametrize(("settings", "message"), [
    ({"security_protocol": "TLS"}, "unknown Kafka security protocol 'TLS'"),
    ({"security_protocol": "SASL_SSL"}, "SASL_SSL needs a SASL mechanism"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER", "username": "a", "password": "p"},
     "unknown SASL mechanism 'OAUTHBEARER'"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "password": "p"}, "needs a username"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "username": "a"}, "needs a password"),
    ({"sasl_mechanism": "PLAIN", "username": "a", "password": "p"}, "needs security protocol SASL_SSL"),
    ({"username": "a"}, "a username or password needs security protocol"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "username": "a", "password": "p",
      "cafile": Path("ca.pem")}, "certificate files need security protocol SSL or SASL_SSL"),
    ({"security_protocol": "SSL", "keyfile": Path("k.pem")}, "a client key file needs its certificate file"),
    ({"security_protocol": "SSL", "keyfile_password": "k"}, "a key password needs a client certificate"),
])
def test_combinations_that_cannot_work_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(KafkaSecurityError, match=message):
        KafkaSecurity(**settings)


def test_secrets_never_show() -> None:
    security = scram(security_protocol="SSL", sasl_mechanism=None, username=None, password=None,
                     certfile=Path("c.pem"), keyfile_password="k3y")
    for shown in (repr(scram()), repr(security), str(scram().redacted()), repr(KafkaAddress("h:9093", scram()))):
        assert "s3cret" not in shown and "k3y" not in shown, shown
    assert scram().redacted()["password"] == "***" and scram().redacted()["username"] == "alice"
    assert PLAINTEXT.redacted()["password"] is None


def test_client_options_of_each_protocol() -> None:
    assert client_options(PLAINTEXT) == {"security_protocol": "PLAINTEXT"}
    sasl_plaintext = client_options(scram(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN"))
    assert sasl_plaintext == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                              "sasl_plain_username": "alice", "sasl_plain_password": "s3cret"}
    options = client_options(scram())
    assert options["ssl_context"].check_hostname and options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert not client_options(scram(check_hostname=False))["ssl_context"].check_hostname


def test_faust_credentials() -> None:
    from faust.auth import SASLCredentials, SSLCredentials
    from faust.types.auth import AuthProtocol, SASLMechanism

    assert faust_credentials(PLAINTEXT) is None
    sasl = faust_credentials(scram())
    assert isinstance(sasl, SASLCredentials) and sasl.protocol is AuthProtocol.SASL_SSL
    assert sasl.mechanism is SASLMechanism.SCRAM_SHA_512 and (sasl.username, sasl.password) == ("alice", "s3cret")
    assert isinstance(faust_credentials(KafkaSecurity("SSL")), SSLCredentials)


def test_the_address_carries_the_settings_to_every_client() -> None:
    address = bootstrap_servers("kafka://h1:9093;h2:9093", scram())
    assert address == "h1:9093,h2:9093" and security_of(address) == scram()
    assert security_of(bootstrap_servers(address)) == scram()  # kept when turned into an address again
    assert security_of("h1:9092") == PLAINTEXT

    def client(*topics: str, **options: Any) -> dict[str, Any]:
        return {"topics": topics, **options}

    built = kafka_client(client, address, "t1", acks="all")
    assert built["topics"] == ("t1",) and built["bootstrap_servers"] == "h1:9093,h2:9093"
    assert built["acks"] == "all" and built["sasl_mechanism"] == "SCRAM-SHA-512"
    assert type(built["bootstrap_servers"]) is str


def _replay(*options: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["replay", "--source", "anonymous-bank", str(CALLS), "--broker", "127.0.0.1:1",
                                    *options], env=env or {})


@pytest.mark.parametrize(("options", "env", "expected"), [
    (["--kafka-sasl-mechanism", "SCRAM-SHA-256"], {}, "needs a username and a password"),
    (["--kafka-sasl-mechanism", "GSSAPI", "--kafka-username", "a"], {"CCKPI_KAFKA_PASSWORD": "p"},
     "unknown SASL mechanism 'GSSAPI'"),
    (["--kafka-security-protocol", "PLAINTEXT", "--kafka-sasl-mechanism", "PLAIN", "--kafka-username", "a"],
     {"CCKPI_KAFKA_PASSWORD": "p"}, "needs security protocol SASL_SSL or SASL_PLAINTEXT"),
    (["--kafka-ca-file", "missing.pem"], {}, "CA file missing.pem: No such file or directory"),
    ([], {"CCKPI_KAFKA_CA_FILE": "{garbage}"}, "no PEM certificate"),
    (["--kafka-sasl-mechanism", "PLAIN", "--kafka-username", "a", "--kafka-password-file", "{garbage}"],
     {"CCKPI_KAFKA_PASSWORD": "p"}, "give $CCKPI_KAFKA_PASSWORD or --kafka-password-file, not both"),
    (["--kafka-sasl-mechanism", "PLAIN", "--kafka-username", "a", "--kafka-password-file", "{empty}"], {},
     "empty"),
    (["--kafka-cert-file", "{garbage}"], {}, "not a PEM certificate and its key"),
])
def test_option_errors_are_one_line_and_exit_2(tmp_path: Path, options: list[str], env: dict[str, str],
                                               expected: str) -> None:
    files = {"{garbage}": tmp_path / "garbage.pem", "{empty}": tmp_path / "empty"}
    files["{garbage}"].write_text("not a certificate")
    files["{empty}"].write_text("\n")
    result = _replay(*[str(files.get(o, o)) for o in options], env={k: str(files.get(v, v)) for k, v in env.items()})
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: Kafka security: ") and expected in lines[0], lines[0]


def test_the_worker_settings_carry_the_security_redacted(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("from-a-file\n")
    result = CliRunner().invoke(app, ["worker", "-c", str(DEMO), "--print-config", "--kafka-username", "bob",
                                      "--kafka-password-file", str(password)],
                                env={"CCKPI_KAFKA_SASL_MECHANISM": "scram-sha-256", "CCKPI_KAFKA_CHECK_HOSTNAME":
                                     "false"})
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)["kafka_security"]
    assert shown["security_protocol"] == "SASL_SSL"  # inferred from the mechanism: never a password in clear
    assert (shown["sasl_mechanism"], shown["username"], shown["check_hostname"]) == ("SCRAM-SHA-256", "bob", False)
    assert shown["password"] == "***" and "from-a-file" not in result.output
