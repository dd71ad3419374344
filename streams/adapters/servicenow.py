"""`servicenow-incidents`: the UCI "Incident management process enriched event log" (ServiceNow) as ticket events.

Source: CSV with a header row, one row per update of an incident (rows of one incident are grouped and in update
order); dates are `DD-MM-YYYY HH:MM` without a timezone (read in UTC unless `--timezone` says otherwise); `?`
means missing. Columns used: number, incident_state, reopen_count, opened_at, sys_updated_at, contact_type,
category, priority, assignment_group, resolved_at.

Mapping, per incident (ticket_id = number), walking its rows in file order:

- the first row -> `ticket.created` at opened_at, with category (`?` -> `unknown`), priority (`?` -> `normal`),
  channel = contact_type and queue = assignment_group of that row;
- the first row whose incident_state is not `New` (the first row itself if the incident was logged already past
  New) -> `ticket.first_response` at its sys_updated_at. An approximation: the log has no "first reply to the
  customer" event, so the first time someone moved the incident on counts as the first response;
- a row whose reopen_count went up -> `ticket.reopened` at sys_updated_at;
- otherwise a row whose incident_state differs from the previous row's (and is not the first response): into
  `Resolved` -> `ticket.resolved`, at
  resolved_at for the incident's last resolution (resolved_at holds the final one) and at sys_updated_at for
  earlier ones or when resolved_at is missing; into `Closed` -> `ticket.closed` at sys_updated_at (closed_at is
  sometimes a later re-save of the closed record); into any other state -> `ticket.updated` at sys_updated_at;
- rows that change nothing of the above (the same state saved again) give no event.

A transition from New straight to Resolved gives both `ticket.first_response` and `ticket.resolved`.
The clock of one ticket never runs backwards: an event stamped before the previous event of its ticket (an update
stamped before opened_at, a resolution after a later update) is moved to that previous time and counted as a
quirk. Ids: event_id = `sn-{number}-{row index within the incident}-{type}` (`sn-{number}-created`).
Malformed input is reported through `on_problem`, never read as a wrong value. An incident is left out whole (its
events depend on every row of it) when one of its rows has more or fewer fields than the header, an opened_at,
sys_updated_at or resolved_at that is not a `DD-MM-YYYY HH:MM` date, a reopen_count missing or not a whole number
>= 0, or no incident_state.
Order: all events of all files are sorted by time (ties keep each ticket's order), so one watermark serves all
tickets; the whole input is held in memory (the UCI log has 141,712 rows).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from operator import itemgetter
from pathlib import Path

from streams.adapters.base import AdapterError, BaseAdapter, Problems, ProblemSink, ReadStats
from streams.models.events import (
    Event,
    TicketClosed,
    TicketCreated,
    TicketFirstResponse,
    TicketReopened,
    TicketResolved,
    TicketUpdated,
)

COLUMNS = ("number", "incident_state", "reopen_count", "opened_at", "sys_updated_at", "contact_type", "category",
           "priority", "assignment_group", "resolved_at")
"""Columns the adapter needs."""

MISSING = "?"
SKIP_BROKEN = "rows of incidents with a malformed row (reported; the incident is left out whole)"
QUIRK_CLAMPED = "events stamped before the previous event of their ticket (moved to that time)"
QUIRK_NO_RESOLVED_AT = "incidents resolved without resolved_at (sys_updated_at used)"
QUIRK_NO_CATEGORY = "incidents without a category (`unknown` used)"
QUIRK_SPLIT = "incidents whose rows are not contiguous in the file (each run read as the incident again)"

_Timed = tuple[float, int, Event]


def _when(text: str, tz: tzinfo, cache: dict[str, datetime]) -> datetime:
    """An aware datetime of `DD-MM-YYYY HH:MM` in `tz` (cached: updates share minutes)."""
    found = cache.get(text)
    if found is None:
        found = cache[text] = datetime.strptime(text, "%d-%m-%Y %H:%M").replace(tzinfo=tz)
    return found


def _count(value: str, what: str) -> int:
    """A count column: a whole number >= 0 in ASCII digits (missing, negative or non-numeric values raise: a guess
    would make up or hide a reopening)."""
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{what} {value!r} is not a whole number >= 0")
    return int(value)


def _optional(value: str, limit: int) -> str | None:
    """A field, or None when missing; cut to the model's length limit."""
    return None if value in ("", MISSING) else value[:limit]


@dataclass(frozen=True)
class ServiceNowIncidentsAdapter(BaseAdapter):
    """Incident event-log rows -> created / first_response / updated / resolved / reopened / closed events."""

    name: str = "servicenow-incidents"
    description: str = "ServiceNow incident event log (UCI CSV: one row per update, DD-MM-YYYY HH:MM dates)"
    timezone: str = "UTC"

    def read(self, paths: Sequence[Path], on_problem: ProblemSink | None = None,
             stats: ReadStats | None = None) -> Iterator[Event]:
        """Ticket events of the files, in time order (see the module docstring for the mapping)."""
        stats = stats if stats is not None else ReadStats()
        tz = self.zone()
        seq = itertools.count()
        out: list[_Timed] = []
        for path in paths:
            out.extend(self._file(path, tz, on_problem, stats, seq))
        out.sort(key=itemgetter(0, 1))
        for _, _, event in out:
            stats.events[event.type] += 1
            yield event
        self.finish(stats, on_problem)

    def _file(self, path: Path, tz: tzinfo, on_problem: ProblemSink | None, stats: ReadStats,
              seq: Iterator[int]) -> list[_Timed]:
        """Events of one file with their epoch seconds, in ticket order (sorted later, with the other files)."""
        problems = Problems(path, on_problem, stats)
        out: list[_Timed] = []
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.lstrip("\ufeff").strip() for h in next(reader, [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise AdapterError(f"{path}: not a ServiceNow incident event log: missing columns "
                                   f"{', '.join(missing)}")
            index = [header.index(c) for c in COLUMNS]
            width = len(header)
            incident: list[tuple[int, list[str]]] = []
            current, broken = None, False
            seen: set[str] = set()
            for row in reader:
                line_no = reader.line_num
                if not row or row == [""]:
                    continue
                number = row[index[0]] if len(row) > index[0] else ""
                if number != current:
                    out.extend(self._finished(incident, broken, tz, stats, problems, seq, seen))
                    incident, current, broken = [], number, False
                if not problems.fields(line_no, len(row), width):
                    broken = True  # the incident's events depend on every row of it
                    continue
                stats.rows += 1
                incident.append((line_no, [row[i] for i in index]))
            out.extend(self._finished(incident, broken, tz, stats, problems, seq, seen))
        problems.close()
        return out

    def _finished(self, rows: list[tuple[int, list[str]]], broken: bool, tz: tzinfo, stats: ReadStats,
                  problems: Problems, seq: Iterator[int], seen: set[str]) -> list[_Timed]:
        """The events of one incident's rows, or none (its good rows counted as skipped) if one of them was
        malformed: without a row, its transitions and their times would be wrong."""
        if broken:
            stats.skipped[SKIP_BROKEN] += len(rows)
            return []
        return self._incident(rows, tz, stats, problems, seq, seen) if rows else []

    def _incident(self, rows: list[tuple[int, list[str]]], tz: tzinfo, stats: ReadStats, problems: Problems,
                  seq: Iterator[int], seen: set[str]) -> list[_Timed]:
        """The events of one incident's consecutive rows, each stamped no earlier than the one before."""
        cache: dict[str, datetime] = {}
        number = rows[0][1][0]
        if number in seen:
            stats.quirks[QUIRK_SPLIT] += 1
        seen.add(number)
        line_no, first = rows[0]
        _, state, _, opened, _, channel, category, priority, group, resolved_at = first
        updates: list[datetime] = []
        reopens: list[int] = []
        try:
            if not number or len(number) > 150:  # event ids hold it: at most 200 characters
                raise ValueError("empty or over-long incident number")
            opened_at = _when(opened, tz, cache)
            final_resolution = None if resolved_at in ("", MISSING) else _when(resolved_at, tz, cache)
            for row_line, f in rows:
                line_no = row_line  # the line reported is the first that is wrong
                if f[1] in ("", MISSING):
                    raise ValueError("incident_state missing")
                updates.append(_when(f[4], tz, cache))
                reopens.append(_count(f[2], "reopen_count"))
        except ValueError as exc:
            problems.row(line_no, f"incident {number}: {exc}; its {len(rows)} rows skipped")
            return []
        if category in ("", MISSING):
            stats.quirks[QUIRK_NO_CATEGORY] += 1
        created = TicketCreated(event_id=f"sn-{number}-created", ticket_id=number, occurred_at=opened_at,
                                category=(_optional(category, 100) or "unknown"),
                                priority=_optional(priority, 50) or "normal",
                                channel=_optional(channel, 50), queue=_optional(group, 100))
        steps: list[tuple[int, str]] = []
        responded = False
        previous_state, previous_reopens = "New", reopens[0]
        for n, (_, fields) in enumerate(rows):
            state = fields[1]
            first_response = state != "New" and not responded
            if first_response:
                responded = True
                steps.append((n, "first_response"))
            if reopens[n] > previous_reopens:
                steps.append((n, "reopened"))
            elif state != previous_state or (n == 0 and state in ("Resolved", "Closed")):
                kind = {"Resolved": "resolved", "Closed": "closed"}.get(state, "updated")
                if kind != "updated" or not first_response:
                    steps.append((n, kind))
            previous_state, previous_reopens = state, reopens[n]
        last_resolution = max((n for n, kind in steps if kind == "resolved"), default=None)
        events: list[Event] = [created]
        clock = opened_at
        for n, kind in steps:
            at = updates[n]
            if n == last_resolution and kind == "resolved":
                if final_resolution is None:
                    stats.quirks[QUIRK_NO_RESOLVED_AT] += 1
                else:
                    at = final_resolution
            if at < clock:
                stats.quirks[QUIRK_CLAMPED] += 1
                at = clock
            clock = at
            events.append(_STEPS[kind](event_id=f"sn-{number}-{n}-{kind}", ticket_id=number, occurred_at=at))
        return [(e.occurred_at.timestamp(), next(seq), e) for e in events]


_STEPS: dict[str, type[TicketFirstResponse | TicketUpdated | TicketResolved | TicketReopened | TicketClosed]] = {
    "first_response": TicketFirstResponse,
    "updated": TicketUpdated,
    "resolved": TicketResolved,
    "reopened": TicketReopened,
    "closed": TicketClosed,
}
