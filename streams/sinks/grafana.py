"""Breach annotations on Grafana dashboards (grafana-client): each window that closed breached, or each ticket
past its deadline, becomes one annotation tagged with contract, term, scope and severity. Failures are reported
as `GrafanaError` with the URL and the credentials redacted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from streams.ledger.book import final_breaches
from streams.sinks.credentials import HttpCredentials, redact_text, redact_url, split_userinfo

CREDENTIALS_ENV = "CCKPI_GRAFANA"
"""Prefix of the credential variables: `_TOKEN` (or `_TOKEN_FILE`), or `_USERNAME` with `_PASSWORD` (or
`_PASSWORD_FILE`)."""


class GrafanaError(RuntimeError):
    """Grafana refused or could not be reached; the message is safe to log (no secret, redacted URL)."""


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def breach_annotations(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotation payloads for the final breaches (latest revision per breach) and ticket deadline misses."""
    records = list(records)
    out = []
    for r in final_breaches(records):
        out.append({
            "time_from": _ms(r["window_start"]), "time_to": _ms(r["window_end"]),
            "tags": ["cckpi", "breach", r["contract"], r["term"], r["scope"]],
            "text": f"{r['contract']}/{r['term']} {r['scope']}: {r['value']:.4g} vs {r['threshold']:g} "
                    f"(breach {r['breach_id']}, window revision {r.get('window_revision', 0)})",
        })
    seen = set()
    for r in records:
        if r.get("kind") == "ticket" and r["breach_id"] not in seen:
            seen.add(r["breach_id"])
            out.append({
                "time_from": _ms(r["deadline"]), "time_to": _ms(r["deadline"]),
                "tags": ["cckpi", "ticket", r["contract"], r["term"]],
                "text": f"ticket {r['ticket_id']} missed {r['contract']}/{r['term']} (deadline {r['deadline']})",
            })
    return out


def connect(url: str, credentials: HttpCredentials | None) -> GrafanaApi:
    """A client for `url`; userinfo in it is taken out and used only when no `credentials` are given."""
    bare, in_url = split_userinfo(url)
    credentials = credentials or in_url
    credential: str | tuple[str, str] | None = None
    if credentials is not None:
        credential = credentials.token or (credentials.username or "", credentials.password or "")
    return GrafanaApi.from_url(bare, credential=credential)


def annotate(api: GrafanaApi, records: Iterable[dict[str, Any]], dashboard_uid: str | None = None, *,
             url: str = "Grafana", secrets: Iterable[str] = ()) -> int:
    """Post the annotations; returns how many were created. Raises `GrafanaError` naming `url` (redacted) with
    `secrets` masked."""
    created = 0
    for a in breach_annotations(records):
        try:
            api.annotations.add_annotation(dashboard_uid=dashboard_uid, **a)
        except (GrafanaException, niquests.RequestException, OSError) as exc:
            message = redact_text(str(exc), secrets)
            raise GrafanaError(f"{redact_url(url)}: {message} ({created} annotations created before)") from None
        created += 1
    return created
