"""The Kafka security options of every command that talks to a broker, declared once: `@with_kafka_security` adds
them to a command, each also read from a `CCKPI_KAFKA_*` environment variable, and hands the command one checked
`KafkaSecurity` as its `kafka_security` parameter.

Passwords are never option values (they would show in the process list): the SASL password comes from
`CCKPI_KAFKA_PASSWORD` or the file `--kafka-password-file`, the key password from `CCKPI_KAFKA_KEY_PASSWORD` or
`--kafka-key-password-file`. A combination that cannot work is one line on stderr and exit 2, before any connection.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from streams.cli.errors import UserError
from streams.kafka_io.security import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    KafkaSecurity,
    KafkaSecurityError,
    ssl_context,
)

PANEL = "Kafka security"
PASSWORD_ENV = "CCKPI_KAFKA_PASSWORD"
KEY_PASSWORD_ENV = "CCKPI_KAFKA_KEY_PASSWORD"
Result = TypeVar("Result")


def _option(flag: str, env: str, help: str) -> Any:
    """A Kafka security option, shown in its own help panel and read from `env` when not given."""
    return typer.Option(flag, envvar=env, help=help, rich_help_panel=PANEL, show_default=False)


OPTIONS: Mapping[str, tuple[Any, Any]] = {
    "kafka_security_protocol": (Annotated[str | None, _option(
        "--kafka-security-protocol", "CCKPI_KAFKA_SECURITY_PROTOCOL",
        f"{', '.join(SECURITY_PROTOCOLS)} (default: SASL_SSL with a SASL mechanism, SSL with certificate files, "
        "else PLAINTEXT).")], None),
    "kafka_sasl_mechanism": (Annotated[str | None, _option(
        "--kafka-sasl-mechanism", "CCKPI_KAFKA_SASL_MECHANISM",
        f"{', '.join(SASL_MECHANISMS)}; needs --kafka-username and a password.")], None),
    "kafka_username": (Annotated[str | None, _option(
        "--kafka-username", "CCKPI_KAFKA_USERNAME", "SASL user name.")], None),
    "kafka_password_file": (Annotated[Path | None, _option(
        "--kafka-password-file", "CCKPI_KAFKA_PASSWORD_FILE",
        f"File holding the SASL password (else ${PASSWORD_ENV}; never a flag value).")], None),
    "kafka_ca_file": (Annotated[Path | None, _option(
        "--kafka-ca-file", "CCKPI_KAFKA_CA_FILE",
        "PEM certificates of the CAs that sign the broker's certificate (default: the system's).")], None),
    "kafka_cert_file": (Annotated[Path | None, _option(
        "--kafka-cert-file", "CCKPI_KAFKA_CERT_FILE", "PEM client certificate, for mutual TLS.")], None),
    "kafka_key_file": (Annotated[Path | None, _option(
        "--kafka-key-file", "CCKPI_KAFKA_KEY_FILE", "PEM private key of the client certificate.")], None),
    "kafka_key_password_file": (Annotated[Path | None, _option(
        "--kafka-key-password-file", "CCKPI_KAFKA_KEY_PASSWORD_FILE",
        f"File holding the client key's password (else ${KEY_PASSWORD_ENV}).")], None),
    "kafka_check_hostname": (Annotated[bool, typer.Option(
        "--kafka-check-hostname/--kafka-no-check-hostname", envvar="CCKPI_KAFKA_CHECK_HOSTNAME",
        rich_help_panel=PANEL, help="Require the broker's certificate to name the host connected to.")], True),
}
"""Parameter name -> (annotation, default) of each option `with_kafka_security` adds."""


def with_kafka_security(command: Callable[..., Result]) -> Callable[..., Result]:
    """`command` with the Kafka security options added to its command line; it receives them as one checked
    `KafkaSecurity` in its `kafka_security` parameter."""
    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "kafka_security"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
             for name, (annotation, default) in OPTIONS.items()]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Result:
        given = {name: kwargs.pop(name, default) for name, (_, default) in OPTIONS.items()}
        return command(*args, kafka_security=security_or_exit(given, os.environ), **kwargs)

    parameters = [*kept, *added]
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return run


def security_or_exit(given: Mapping[str, Any], env: Mapping[str, str]) -> KafkaSecurity:
    """The `KafkaSecurity` of the options given and the password variables of `env`, with its TLS files loaded
    once; a UserError (one line, exit 2) when they do not fit together or a file cannot be used."""
    try:
        security = _security(given, env)
        ssl_context(security)  # a CA, certificate or key file that cannot be used is said now, not at connect time
    except KafkaSecurityError as exc:
        raise UserError(f"Kafka security: {exc}") from None
    return security


def _security(given: Mapping[str, Any], env: Mapping[str, str]) -> KafkaSecurity:
    """The settings of the options (`OPTIONS` names) and password variables; the protocol, when not given, from
    what is: SASL_SSL with a mechanism, SSL with certificate files, else PLAINTEXT."""
    files = {"cafile": given["kafka_ca_file"], "certfile": given["kafka_cert_file"],
             "keyfile": given["kafka_key_file"]}
    mechanism = given["kafka_sasl_mechanism"]
    protocol = given["kafka_security_protocol"] or (
        "SASL_SSL" if mechanism else "SSL" if any(files.values()) else "PLAINTEXT")
    return KafkaSecurity(
        security_protocol=protocol, sasl_mechanism=mechanism, username=given["kafka_username"],
        password=secret(env, PASSWORD_ENV, given["kafka_password_file"], "--kafka-password-file"),
        keyfile_password=secret(env, KEY_PASSWORD_ENV, given["kafka_key_password_file"],
                                "--kafka-key-password-file"),
        check_hostname=given["kafka_check_hostname"], **files)


def secret(env: Mapping[str, str], name: str, path: Path | None, flag: str) -> str | None:
    """A password from the environment variable `name` or the file `path` (its one trailing newline dropped);
    None when neither is given. Both, an unreadable file or an empty password is a KafkaSecurityError."""
    from_env = env.get(name)
    if from_env is not None and path is not None:
        raise KafkaSecurityError(f"give ${name} or {flag}, not both")
    if path is None:
        if from_env == "":
            raise KafkaSecurityError(f"${name} is empty")
        return from_env
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KafkaSecurityError(f"{flag} {path}: {reason}") from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise KafkaSecurityError(f"{flag} {path}: empty")
    return password
