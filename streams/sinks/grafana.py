"""Breach annotations on Grafana dashboards (grafana-client): each window that closed breached (its latest
revision decides, `streams.core.penalties.final_breaches`), or each ticket past its deadline, becomes one annotation
tagged with contract, term, scope and severity. `GrafanaSink` takes them from the stream's outputs or from breach
records (`cckpi grafana annotate`). Failures are reported as `GrafanaError` with the URL and the credentials
redacted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from streams.core.penalties import final_breaches
from streams.core.records import BreachUpdate, TicketMissed
from streams.sinks.base import Handler, RawMessage, Send
from streams.sinks.credentials import HttpCredentials, redact_text, redact_url, split_userinfo

log = logging.getLogger(__name__)

CREDENTIALS_ENV = "CCKPI_GRAFANA"
"""Prefix of the credential variables: `_TOKEN` (or `_TOKEN_FILE`), or `_USERNAME` with `_PASSWORD` (or
`_PASSWORD_FILE`)."""


class GrafanaError(RuntimeError):
    """Grafana refused or could not be reached; the message is safe to log (no secret, redacted URL)."""


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def breach_annotations(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotation payloads for the final breaches (latest revision per breach) and ticket deadline misses."""
    return [payload for _, payload in _annotations(records)]


def _annotations(records: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(breach id, annotation payload) of each final breach and ticket deadline miss."""
    records = list(records)
    out = []
    for r in final_breaches(records):
        out.append((r["breach_id"], {
            "time_from": _ms(r["window_start"]), "time_to": _ms(r["window_end"]),
            "tags": ["cckpi", "breach", r["contract"], r["term"], r["scope"]],
            "text": f"{r['contract']}/{r['term']} {r['scope']}: {r['value']:.4g} vs {r['threshold']:g} "
                    f"(breach {r['breach_id']}, window revision {r.get('window_revision', 0)})",
        }))
    seen = set()
    for r in records:
        if r.get("kind") == "ticket" and r["breach_id"] not in seen:
            seen.add(r["breach_id"])
            out.append((r["breach_id"], {
                "time_from": _ms(r["deadline"]), "time_to": _ms(r["deadline"]),
                "tags": ["cckpi", "ticket", r["contract"], r["term"]],
                "text": f"ticket {r['ticket_id']} missed {r['contract']}/{r['term']} (deadline {r['deadline']})",
            }))
    return out


def _revised_to_met(record: dict[str, Any]) -> bool:
    """A window's final step that is not breached (after an earlier one was)."""
    return record.get("kind") == "window" and record["state"] == "final" and record["status"] != "breached"


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
    """Post the annotations of these breach records; returns how many were created. Raises `GrafanaError` naming
    `url` (redacted) with `secrets` masked."""
    sink = GrafanaSink(api, dashboard_uid, url=url, secrets=tuple(secrets))
    for record in records:
        sink.take_record(record)
    return sink.post()


ANNOTATED_KEPT = 100_000
"""How many annotated breach ids a sink remembers (the oldest are forgotten first), bounding a worker's memory."""


class GrafanaSink:
    """Annotations as a sink: keeps the latest breach record of each window and ticket until the next flush, then
    annotates the final breached windows and missed tickets not annotated yet, and removes the annotation of a
    window a later revision turned to met. The stream reaches it through its outputs (`routes`),
    `cckpi grafana annotate` through breach records (`take_record`)."""

    def __init__(self, api: GrafanaApi, dashboard_uid: str | None = None, *, url: str = "Grafana",
                 secrets: tuple[str, ...] = ()) -> None:
        self.api = api
        self.dashboard_uid = dashboard_uid
        self.url = url
        self.secrets = secrets
        self.pending: dict[str, dict[str, Any]] = {}
        """Latest record per breach id since the last post."""
        self.annotated: dict[str, int | None] = {}
        """Annotation id per breach id annotated by this sink: a later revision (still breached) or a replay adds
        none, one revised to met removes it."""

    def routes(self) -> Mapping[type[Any], Handler]:
        """Window lifecycle steps that close a window, and missed tickets."""
        return {BreachUpdate: self.take, TicketMissed: self.take}

    def take(self, out: BreachUpdate | TicketMissed, sends: list[Send], msg: RawMessage | None) -> None:
        """The sink interface's handler: final steps and missed tickets as their `cckpi.breaches` records."""
        if isinstance(out, TicketMissed) or out.state == "final":
            self.take_record(out.to_breach())

    def take_record(self, record: dict[str, Any]) -> None:
        """One `cckpi.breaches` record; of a window's records the latest revision is kept."""
        known = self.pending.get(record["breach_id"])
        if known is None or record.get("revision", 0) > known.get("revision", 0):
            self.pending[record["breach_id"]] = record

    def post(self) -> int:
        """Create the pending annotations; returns how many. Raises `GrafanaError` (redacted) on the first failure,
        keeping what was not posted for the next call."""
        created = 0
        for breach_id, annotation in _annotations(self.pending.values()):
            if breach_id in self.annotated:
                continue
            reply = self._call(created, self.api.annotations.add_annotation, dashboard_uid=self.dashboard_uid,
                               **annotation)
            self.annotated[breach_id] = reply.get("id") if isinstance(reply, dict) else None
            del self.pending[breach_id]
            created += 1
            if len(self.annotated) > ANNOTATED_KEPT:
                del self.annotated[next(iter(self.annotated))]
        for breach_id, record in list(self.pending.items()):  # final and met now: its annotation goes
            if _revised_to_met(record) and self.annotated.get(breach_id) is not None:
                self._call(created, self.api.annotations.delete_annotations_by_id, self.annotated.pop(breach_id))
            del self.pending[breach_id]
        return created

    def _call(self, created: int, request: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One Grafana request, its failure as a redacted `GrafanaError`."""
        try:
            return request(*args, **kwargs)
        except (GrafanaException, niquests.RequestException, OSError) as exc:
            message = redact_text(str(exc), self.secrets)
            raise GrafanaError(f"{redact_url(self.url)}: {message} ({created} annotations created before)") from None

    async def flush(self) -> int:
        """`post` off the event loop (grafana-client is synchronous); a failure is logged, the rest kept."""
        try:
            return await asyncio.to_thread(self.post)
        except GrafanaError as exc:
            log.warning("Grafana did not take the annotations: %s", exc)
            return 0
