"""Credentials options of the commands that post to HTTP services (Alertmanager, Grafana)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer

from streams.sinks.alertmanager import CREDENTIALS_ENV as ALERTMANAGER_ENV
from streams.sinks.credentials import CredentialsError, HttpCredentials, credentials_from_env, resolve_credentials
from streams.sinks.grafana import CREDENTIALS_ENV as GRAFANA_ENV

ALERTMANAGER_AUTH_HELP = ("YAML file with `username` and `password`, or `token`, for the Alertmanager (else "
                          f"{ALERTMANAGER_ENV}_USERNAME/_PASSWORD[_FILE] or _TOKEN[_FILE], else the URL's user:pass@).")


def credentials_or_exit(url: str | None, prefix: str, auth_file: Path | None = None,
                        ) -> tuple[str | None, HttpCredentials | None]:
    """The URL without userinfo and the credentials for it (see `resolve_credentials`), or one line and exit 2."""
    try:
        if url is None:
            if auth_file is not None:
                raise CredentialsError(f"{auth_file}: credentials given without a URL to use them for")
            return None, None
        return resolve_credentials(url, prefix, os.environ, auth_file)
    except CredentialsError as exc:
        usage_error(str(exc))


def env_token(prefix: str = GRAFANA_ENV) -> str | None:
    """The bearer token of `PREFIX_TOKEN` or `PREFIX_TOKEN_FILE` (None when neither is set), or one line and exit 2
    (e.g. the file is unreadable, or username and password are set instead)."""
    try:
        credentials = credentials_from_env(prefix, os.environ)
    except CredentialsError as exc:
        usage_error(str(exc))
    if credentials is not None and credentials.token is None:
        usage_error(f"{prefix}_USERNAME/_PASSWORD: this command takes a token ({prefix}_TOKEN or _TOKEN_FILE)")
    return None if credentials is None else credentials.token


def usage_error(message: str) -> NoReturn:
    """One line on stderr and exit 2 (a user error: no traceback)."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)
