"""Breach annotations on Grafana dashboards (grafana-client): each window that closed breached (its latest
revision decides, `streams.core.penalties.final_breaches`), or each ticket past its deadline, becomes one annotation
tagged with contract, term and scope, its text carrying the breach id. `GrafanaSink` takes them from the stream's
outputs or from breach records (`cckpi grafana annotate`); before creating one it looks the breach up in Grafana
(GET /api/annotations by its tags and time) and updates or keeps what is there, so re-running adds nothing.
Failures are reported as `GrafanaError` with the URL and the credentials redacted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from streams.core.penalties import final_breaches
from streams.core.records import BreachUpdate, TicketMissed, is_ticket_miss
from streams.sinks.base import Consumed, Handler, Send
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


def _window_place(r: dict[str, Any]) -> dict[str, Any]:
    """Time span and tags of a window's annotation (what finds it again)."""
    return {"time_from": _ms(r["window_start"]), "time_to": _ms(r["window_end"]),
            "tags": ["cckpi", "breach", r["contract"], r["term"], r["scope"]]}


def _annotations(records: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(breach id, annotation payload) of each final breach and ticket deadline miss; the text names the breach
    id as `(breach <id>, ...` (`carries`)."""
    records = list(records)
    out = []
    for r in final_breaches(records):
        out.append((r["breach_id"], {
            **_window_place(r),
            "text": f"{r['contract']}/{r['term']} {r['scope']}: {r['value']:.4g} vs {r['threshold']:g} "
                    f"(breach {r['breach_id']}, window revision {r.get('window_revision', 0)})",
        }))
    seen = set()
    for r in records:
        if is_ticket_miss(r) and r["breach_id"] not in seen:
            seen.add(r["breach_id"])
            out.append((r["breach_id"], {
                "time_from": _ms(r["deadline"]), "time_to": _ms(r["deadline"]),
                "tags": ["cckpi", "ticket", r["contract"], r["term"]],
                "text": f"ticket {r['ticket_id']} missed {r['contract']}/{r['term']} "
                        f"(breach {r['breach_id']}, deadline {r['deadline']})",
            }))
    return out


def carries(text: str, breach_id: str) -> bool:
    """Whether an annotation's text names this breach id (exactly: `a/b` is not `a/bc`)."""
    return f"(breach {breach_id}," in text or f"(breach {breach_id})" in text


def same(found: Mapping[str, Any], annotation: Mapping[str, Any]) -> bool:
    """Whether an annotation Grafana has already says what `annotation` (a payload of `_annotations`) says."""
    return (found.get("text") == annotation["text"] and found.get("time") == annotation["time_from"]
            and found.get("timeEnd", found.get("time")) == annotation["time_to"]
            and sorted(found.get("tags") or []) == sorted(annotation["tags"]))


@dataclass
class Tally:
    """What a run did in Grafana: annotations created, updated (a later revision), already there, removed
    (revised to met, or duplicates of earlier runs)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __str__(self) -> str:
        return (f"created {self.created} annotations ({self.updated} updated, {self.unchanged} already there, "
                f"{self.removed} removed)")


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
             url: str = "Grafana", secrets: Iterable[str] = ()) -> Tally:
    """Annotate these breach records, keeping what Grafana already has of them (idempotent); returns what was
    done. Raises `GrafanaError` naming `url` (redacted) with `secrets` masked."""
    sink = GrafanaSink(api, dashboard_uid, url=url, secrets=tuple(secrets))
    for record in records:
        sink.take_record(record)
    sink.post()
    return sink.tally


ANNOTATED_KEPT = 100_000
"""How many annotated breach ids a sink remembers (the oldest are forgotten first), bounding a worker's memory."""
LOOKUP_LIMIT = 1000
"""Annotations asked for per lookup (those of one window or deadline, with its tags: a handful)."""


class GrafanaSink:
    """Annotations as a sink: keeps the latest breach record of each window and ticket until the next flush, then
    annotates the final breached windows and missed tickets not annotated yet, and removes the annotation of a
    window a later revision turned to met. A breach it has not annotated itself is looked up in Grafana first
    (an earlier run or worker may have): kept when the same, updated when a revision changed it, extra copies
    removed. The stream reaches it through its outputs (`routes`), `cckpi grafana annotate` through breach
    records (`take_record`)."""

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
        self.tally = Tally()
        """Running totals of what this sink did in Grafana."""

    def routes(self) -> Mapping[type[Any], Handler]:
        """Window lifecycle steps that close a window, and missed tickets."""
        return {BreachUpdate: self.take, TicketMissed: self.take}

    def take(self, out: BreachUpdate | TicketMissed, sends: list[Send], msg: Consumed | None) -> None:
        """The sink interface's handler: final steps and missed tickets as their `cckpi.breaches` records."""
        if isinstance(out, TicketMissed) or out.state == "final":
            self.take_record(out.to_breach())

    def take_record(self, record: dict[str, Any]) -> None:
        """One `cckpi.breaches` record; of a window's records the latest revision is kept."""
        known = self.pending.get(record["breach_id"])
        if known is None or record.get("revision", 0) > known.get("revision", 0):
            self.pending[record["breach_id"]] = record

    def post(self) -> int:
        """Create the pending annotations Grafana does not have yet; returns how many were created (`tally` counts
        the rest). Raises `GrafanaError` (redacted) on the first failure, keeping what was not posted for the next
        call."""
        created = self.tally.created
        for breach_id, annotation in _annotations(self.pending.values()):
            if breach_id not in self.annotated:
                self._remember(breach_id, self._place(breach_id, annotation))
            del self.pending[breach_id]
        for breach_id, record in list(self.pending.items()):  # final and met now: its annotation goes
            if _revised_to_met(record):
                self._unplace(breach_id, record)
            del self.pending[breach_id]
        return self.tally.created - created

    def _remember(self, breach_id: str, annotation_id: int | None) -> None:
        """Note the breach as annotated, forgetting the oldest beyond `ANNOTATED_KEPT`."""
        self.annotated[breach_id] = annotation_id
        if len(self.annotated) > ANNOTATED_KEPT:
            del self.annotated[next(iter(self.annotated))]

    def _place(self, breach_id: str, annotation: dict[str, Any]) -> int | None:
        """Make Grafana hold exactly one annotation of this breach, saying `annotation`; returns its id."""
        found = self.existing(breach_id, annotation["tags"], annotation["time_from"], annotation["time_to"])
        if not found:
            reply = self._call(self.api.annotations.add_annotation, dashboard_uid=self.dashboard_uid, **annotation)
            self.tally.created += 1
            return reply.get("id") if isinstance(reply, dict) else None
        keep, *extra = found
        for duplicate in extra:  # left by runs before annotating was idempotent
            self._call(self.api.annotations.delete_annotations_by_id, duplicate["id"])
            self.tally.removed += 1
        if same(keep, annotation):
            self.tally.unchanged += 1
        else:
            self._call(self.api.annotations.partial_update_annotation, keep["id"], **annotation)
            self.tally.updated += 1
        return int(keep["id"])

    def _unplace(self, breach_id: str, record: dict[str, Any]) -> None:
        """Remove the annotations of a window revised to met: the one this sink made, or those Grafana has."""
        if breach_id in self.annotated:
            ids = [self.annotated.pop(breach_id)]
        else:
            place = _window_place(record)
            ids = [a["id"] for a in self.existing(breach_id, place["tags"], place["time_from"], place["time_to"])]
        for annotation_id in ids:
            if annotation_id is not None:
                self._call(self.api.annotations.delete_annotations_by_id, annotation_id)
                self.tally.removed += 1

    def existing(self, breach_id: str, tags: list[str], time_from: int, time_to: int) -> list[dict[str, Any]]:
        """Grafana's annotations of this breach, oldest first: those with all its tags over its time whose text
        carries its id (tags are URL-encoded here: grafana-client joins them into the query as they are)."""
        found = self._call(self.api.annotations.find_annotations, time_from=time_from, time_to=time_to,
                           ann_type="annotation", tags=[quote(tag, safe="") for tag in tags], limit=LOOKUP_LIMIT)
        mine = [a for a in found or [] if isinstance(a, dict) and carries(str(a.get("text", "")), breach_id)]
        return sorted(mine, key=lambda a: int(a.get("id", 0)))

    def _call(self, request: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One Grafana request, its failure as a redacted `GrafanaError`."""
        try:
            return request(*args, **kwargs)
        except (GrafanaException, niquests.RequestException, OSError) as exc:
            message = redact_text(str(exc), self.secrets)
            raise GrafanaError(f"{redact_url(self.url)}: {message} ({self.tally.created} annotations created "
                               "before)") from None

    async def flush(self) -> int:
        """`post` off the event loop (grafana-client is synchronous); a failure is logged, the rest kept."""
        try:
            return await asyncio.to_thread(self.post)
        except GrafanaError as exc:
            log.warning("Grafana did not take the annotations: %s", exc)
            return 0
