"""How cckpi's Kafka clients authenticate and encrypt: one frozen value, `KafkaSecurity`, and what each client
library makes of it (aiokafka and kafka-python keyword arguments, Faust credentials).

A value is checked when it is made (a SASL mechanism needs a username and a password, certificate files need TLS),
so a client is never built from a combination the broker would refuse only later. Its password and key password
never show: `repr()` and `redacted()` replace them by `***`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Faust is imported only by the worker
    from faust.types.auth import CredentialsT

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
"""Kafka's `security.protocol` values."""
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
"""The SASL mechanisms cckpi's clients speak."""
SECRET_FIELDS = frozenset({"password", "keyfile_password"})
"""Fields never shown."""
REDACTED = "***"
FILE_LABELS = {"cafile": "CA file", "certfile": "certificate file", "keyfile": "key file"}
"""The file fields, as error messages name them."""


class KafkaSecurityError(ValueError):
    """Kafka security settings that cannot work together, or files that cannot be used; `str()` is one line."""


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    """`value` upper-cased if it is one of `allowed`, else a KafkaSecurityError naming the choices."""
    upper = value.strip().upper().replace("_", "-") if what == "SASL mechanism" else value.strip().upper()
    if upper not in allowed:
        raise KafkaSecurityError(f"unknown {what} {value!r} (expected {', '.join(allowed)})")
    return upper


@dataclass(frozen=True)
class KafkaSecurity:
    """Security settings of every Kafka connection cckpi makes (the default: PLAINTEXT, no authentication)."""

    security_protocol: str = "PLAINTEXT"
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (case-insensitive)."""
    sasl_mechanism: str | None = None
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; required with SASL_*, refused otherwise."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    """PEM file of the certificate authorities that sign the broker's certificate (default: the system's)."""
    certfile: Path | None = None
    """PEM client certificate (mutual TLS); may also hold its key."""
    keyfile: Path | None = None
    """PEM private key of the client certificate."""
    keyfile_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True
    """Whether the broker's certificate must name the host connected to."""

    def __post_init__(self) -> None:
        """Normalise the names and refuse combinations that cannot work (one line each)."""
        protocol = _choice(self.security_protocol, SECURITY_PROTOCOLS, "Kafka security protocol")
        object.__setattr__(self, "security_protocol", protocol)
        if self.sasl_mechanism is not None:
            object.__setattr__(self, "sasl_mechanism", _choice(self.sasl_mechanism, SASL_MECHANISMS,
                                                               "SASL mechanism"))
        _check_sasl(self)
        _check_tls(self)

    @property
    def sasl(self) -> bool:
        """True when the connection authenticates with SASL."""
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """True when the connection is encrypted with TLS."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    def describe(self) -> str:
        """What an error message says about how it connected, e.g. `SASL_SSL, SCRAM-SHA-512 as alice`."""
        return f"{self.security_protocol}, {self.sasl_mechanism} as {self.username}" if self.sasl \
            else self.security_protocol

    def redacted(self) -> dict[str, Any]:
        """The settings as shown to people (e.g. `cckpi worker --print-config`): secrets as `***`, paths as text."""
        shown: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            shown[f.name] = REDACTED if f.name in SECRET_FIELDS and value is not None else \
                str(value) if isinstance(value, Path) else value
        return shown

    def __repr__(self) -> str:
        """Every setting but the secrets, which show as `***` when set."""
        return f"KafkaSecurity({', '.join(f'{k}={v!r}' for k, v in self.redacted().items())})"


def _check_sasl(s: KafkaSecurity) -> None:
    """A SASL protocol needs a mechanism, a username and a password; the others take none of them."""
    if s.sasl:
        if s.sasl_mechanism is None:
            raise KafkaSecurityError(f"{s.security_protocol} needs a SASL mechanism ({', '.join(SASL_MECHANISMS)})")
        if not s.username or not s.password:
            missing = " and ".join(w for w, v in (("a username", s.username), ("a password", s.password)) if not v)
            raise KafkaSecurityError(f"SASL mechanism {s.sasl_mechanism} needs {missing}")
    elif s.sasl_mechanism is not None or s.username is not None or s.password is not None:
        given = "a SASL mechanism" if s.sasl_mechanism is not None else "a username or password"
        raise KafkaSecurityError(f"{given} needs security protocol SASL_SSL or SASL_PLAINTEXT "
                                 f"(not {s.security_protocol})")


def _check_tls(s: KafkaSecurity) -> None:
    """Certificate files need TLS; a key needs its certificate, a key password a key."""
    files = [name for name in FILE_LABELS if getattr(s, name) is not None]
    if files and not s.tls:
        raise KafkaSecurityError(f"certificate files need security protocol SSL or SASL_SSL "
                                 f"(not {s.security_protocol})")
    if s.keyfile is not None and s.certfile is None:
        raise KafkaSecurityError("a client key file needs its certificate file")
    if s.keyfile_password is not None and s.certfile is None:
        raise KafkaSecurityError("a key password needs a client certificate and key file")


PLAINTEXT = KafkaSecurity()
"""No encryption, no authentication: what a local broker speaks."""


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """The TLS context of a connection (None without TLS): the CA file (else the system's), the client certificate
    and key; a file that is missing, unreadable or not PEM is a KafkaSecurityError naming it."""
    if not security.tls:
        return None
    from aiokafka.helpers import create_ssl_context

    for name, label in FILE_LABELS.items():
        _check_readable(getattr(security, name), label)
    try:
        context = create_ssl_context(cafile=security.cafile)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise KafkaSecurityError(f"CA file {security.cafile}: no PEM certificate in it ({_reason(exc)})") from None
    if security.certfile is not None:
        try:
            context.load_cert_chain(security.certfile, security.keyfile, security.keyfile_password)
        except (ssl.SSLError, OSError, ValueError) as exc:
            files = " and ".join(str(f) for f in (security.certfile, security.keyfile) if f is not None)
            raise KafkaSecurityError(f"client certificate {files}: not a PEM certificate and its key, or the "
                                     f"key password is wrong ({_reason(exc)})") from None
    context.check_hostname = security.check_hostname
    return context


def _check_readable(path: Path | None, what: str) -> None:
    """Raise KafkaSecurityError unless `path` (if given) is a readable file."""
    if path is None:
        return
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise KafkaSecurityError(f"{what} {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise KafkaSecurityError(f"{what} {path}: not a file")


def _reason(exc: BaseException) -> str:
    """An exception's first line, with its type when the text alone says little."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


def client_options(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments of an aiokafka or kafka-python client (producer, consumer, admin): both libraries take
    these same names, and both take a ready `ssl_context`."""
    options: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.tls:
        options["ssl_context"] = ssl_context(security)
    if security.sasl:
        options |= {"sasl_mechanism": security.sasl_mechanism, "sasl_plain_username": security.username,
                    "sasl_plain_password": security.password}
    return options


def faust_credentials(security: KafkaSecurity) -> CredentialsT | None:
    """Faust's `broker_credentials` for these settings (None for PLAINTEXT)."""
    from faust.auth import SASLCredentials, SSLCredentials

    if security.sasl:
        return SASLCredentials(username=security.username, password=security.password,
                               mechanism=security.sasl_mechanism, ssl_context=ssl_context(security))
    context = ssl_context(security)
    return None if context is None else SSLCredentials(context)
