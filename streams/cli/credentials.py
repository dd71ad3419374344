"""Credentials options of the commands that post to HTTP services (Alertmanager, Grafana)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer

from streams.sinks.alertmanager import CREDENTIALS_ENV as ALERTMANAGER_ENV
from streams.sinks.credentials import CredentialsError, HttpCredentials, resolve_credentials

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


def usage_error(message: str) -> NoReturn:
    """One line on stderr and exit 2 (a user error: no traceback)."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)
