"""HTTP credentials of the sinks (Alertmanager, Grafana) and URLs made safe to log.

A secret in a URL shows in the process list and in every log line that names the URL, so credentials come from a
file or the environment and travel as an Authorization header; URLs are logged with userinfo and query values masked.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml

MASK = "***"
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#\s]*@")  # greedy: to the last @ of the authority
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
FILE_KEYS = ("username", "password", "token")
_SECRET_NAME = re.compile(r"passw(or)?d|secret|token|api_?key|private_?key|credential", re.IGNORECASE)
_NOT_SECRET = re.compile(r"(file|path|dir|username|user)$", re.IGNORECASE)  # where a secret is, or who: not the secret


class CredentialsError(ValueError):
    """Credentials given wrongly (a user error); the message is one line naming where they came from."""


@dataclass(frozen=True)
class HttpCredentials:
    """Basic (username and password) or bearer (token) credentials; `repr` never shows a secret."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Exactly one kind, and nothing that would break (or inject into) an HTTP header."""
        if (self.token is None) == (self.username is None):
            raise CredentialsError("give either a username and password or a token")
        if self.username is not None and self.password is None:
            raise CredentialsError("a username needs a password")
        if self.token is not None and not _HEADER_SAFE.fullmatch(self.token):
            raise CredentialsError("a token must be printable ASCII without spaces")
        if self.username is not None and (":" in self.username or _has_control(self.username)):
            raise CredentialsError("a username must not contain ':' or control characters")
        if self.password is not None and _has_control(self.password):
            raise CredentialsError("a password must not contain control characters")

    def headers(self) -> dict[str, str]:
        """The Authorization header to send."""
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token}"}
        return {"Authorization": f"Basic {self._basic()}"}

    def secrets(self) -> tuple[str, ...]:
        """Every form in which a secret could surface in a message (plain, percent-encoded, base64)."""
        if self.token is not None:
            return (self.token, quote(self.token, safe=""))
        assert self.password is not None
        return tuple(s for s in (self.password, quote(self.password, safe=""), self._basic()) if s)

    def env(self, prefix: str) -> dict[str, str]:
        """As environment variables for a child process (`PREFIX_USERNAME`, `PREFIX_PASSWORD` or `PREFIX_TOKEN`)."""
        if self.token is not None:
            return {f"{prefix}_TOKEN": self.token}
        assert self.username is not None and self.password is not None
        return {f"{prefix}_USERNAME": self.username, f"{prefix}_PASSWORD": self.password}

    def _basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def redact_url(url: str) -> str:
    """The URL safe to log: userinfo, every query value and the fragment masked (host and path stay)."""
    url = _USERINFO.sub(lambda m: f"{m.group(1) or ''}{MASK}@", url, count=1)
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable: show nothing of it
        return MASK
    query = "&".join(f"{k}={MASK}" if eq else MASK
                     for k, eq, _ in (item.partition("=") for item in parts.query.split("&") if item))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, MASK if parts.fragment else ""))


def redacted(value: object, name: str = "") -> object:
    """`value` as plain data to print (dataclasses and mappings as dicts, sequences as lists, paths and enums as
    strings) with every secret masked: a value whose field or key is named like one (password, token, secret, ...;
    not `*_file`), a dataclass field hidden from its repr, and URLs' userinfo and query values (`redact_text`)."""
    secret = bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: MASK if not f.repr and getattr(value, f.name) is not None
                else redacted(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): redacted(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted(v, name) for v in value]
    if value is None or (isinstance(value, bool | int | float) and not secret):
        return value
    return MASK if secret else redact_text(str(value.value if isinstance(value, Enum) else value))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """A message (e.g. an exception's) safe to log: URLs in it redacted, and any of the known secrets masked."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def split_userinfo(url: str) -> tuple[str, HttpCredentials | None]:
    """The URL without `user:password@`, and the credentials it carried (a lone `token@` is basic with no password)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise CredentialsError(f"{redact_url(url)}: not a URL ({exc})") from None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    try:
        credentials = HttpCredentials(unquote(user), unquote(password))
    except CredentialsError as exc:
        raise CredentialsError(f"{redact_url(url)}: credentials in the URL: {exc}") from None
    return urlunsplit(parts._replace(netloc=host)), credentials


def credentials_from_file(path: Path) -> HttpCredentials:
    """A YAML file with `username` and `password`, or `token` (keep it readable by the service only)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except yaml.YAMLError:
        raise CredentialsError(f"{path}: not YAML (expected username and password, or token)") from None
    if not isinstance(data, dict) or not data:
        raise CredentialsError(f"{path}: expected a mapping with username and password, or token")
    unknown = sorted(str(k) for k in data if k not in FILE_KEYS)
    if unknown:
        raise CredentialsError(f"{path}: unknown keys {', '.join(unknown)} (allowed: {', '.join(FILE_KEYS)})")
    for key, value in data.items():
        if not isinstance(value, str):
            raise CredentialsError(f"{path}: {key} must be a string (quote it)")
    try:
        return HttpCredentials(**data)
    except CredentialsError as exc:
        raise CredentialsError(f"{path}: {exc}") from None


def credentials_from_env(prefix: str, env: Mapping[str, str]) -> HttpCredentials | None:
    """`PREFIX_USERNAME` with `PREFIX_PASSWORD` (or `PREFIX_PASSWORD_FILE`), or `PREFIX_TOKEN` (or `_TOKEN_FILE`);
    None when none of them is set (empty counts as unset)."""
    username = env.get(f"{prefix}_USERNAME") or None
    password, token = _value_or_file(prefix, "PASSWORD", env), _value_or_file(prefix, "TOKEN", env)
    if username is None and password is None and token is None:
        return None
    try:
        return HttpCredentials(username, password, token)
    except CredentialsError as exc:
        raise CredentialsError(f"{prefix}_* environment: {exc}") from None


def _value_or_file(prefix: str, name: str, env: Mapping[str, str]) -> str | None:
    """`PREFIX_NAME`, or the contents of the file `PREFIX_NAME_FILE` names (without its final newline)."""
    value, file = env.get(f"{prefix}_{name}") or None, env.get(f"{prefix}_{name}_FILE") or None
    if value is not None and file is not None:
        raise CredentialsError(f"give {prefix}_{name} or {prefix}_{name}_FILE, not both")
    if file is None:
        return value
    try:
        text = Path(file).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{prefix}_{name}_FILE {file}: cannot read: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    if not text:
        raise CredentialsError(f"{prefix}_{name}_FILE {file}: empty")
    return text


def resolve_credentials(url: str, prefix: str, env: Mapping[str, str],
                        auth_file: Path | None = None) -> tuple[str, HttpCredentials | None]:
    """The URL without userinfo and the credentials to use: from `auth_file`, else the `prefix` environment
    variables, else the URL's userinfo (the first that gives any)."""
    bare, in_url = split_userinfo(url)
    if auth_file is not None:
        return bare, credentials_from_file(auth_file)
    return bare, credentials_from_env(prefix, env) or in_url
