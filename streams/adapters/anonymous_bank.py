"""`anonymous-bank`: the Technion "Anonymous Bank" per-call records (Israel, 1999) as call events.

Source: tab-separated monthly files with a header row (Service Enterprise Engineering Lab, compiled by Avi
Mandelbaum; fields described in the data set's documentation.pdf). One row per call: vru+line, call_id,
customer_id, priority, type, date (YYMMDD), vru_entry, vru_exit, vru_time, q_start, q_exit, q_time, outcome,
ser_start, ser_exit, ser_time, server. Columns are found by header name.

Times: local times of day in `Asia/Jerusalem` (`--timezone` to change) on the `date` column's day; a vru_exit more
than 12 hours earlier than vru_entry is on the next day (not merely "earlier than vru_entry": rows with a negative
vru_time have vru_exit a few seconds before vru_entry on the same day, and stay on it). `occurred_at` carries the UTC
offset in force at that local time (+02:00 or +03:00 in 1999); a local time skipped or repeated by a DST change
takes the offset before the change.

Mapping (queue = the `type` column: PS, PE, IN, NE, NW, TT), the project's definitions for this data set:

- offered = AGENT rows + HANG rows with q_time > 0, at `date` + vru_exit (local time);
- AGENT: `call.answered` q_time seconds after the offer (wait_seconds = q_time, agent_id = server), then
  `call.ended` ser_time seconds after the answer (talk_seconds = ser_time, offered_at = the offer, so talk time
  counts in the window of the offer); AGENT rows that never queued (q_start 0:00:00, q_time 0) are answered with
  wait 0 (`direct_answers=False` skips and counts them instead);
- HANG with q_time > 0: `call.abandoned` q_time seconds after the offer (wait_seconds = q_time);
- HANG with q_time 0 (never reached the agents' queue) and PHANTOM ("a virtual call to be ignored"): skipped,
  counted.

Ids: call_id = `{vru+line}-{date}-{call_id}`, event_id = `ab-{call_id}-{offered|answered|abandoned|ended}`. The
source's call_id repeats within a day across VRU lines (8,795 collisions in the full data); with the VRU line and
the date it is unique.

Quirks kept and counted (in `ReadStats.quirks`, summarized through `on_problem`): negative vru_time; AGENT rows with
server NO_SERVER (agent_id left empty); calls ending after midnight. Malformed rows are reported and skipped, never
read as a wrong value: a row with more or fewer fields than the header, a row whose vru_time, q_time or ser_time is
not whole seconds (only vru_time may be negative), and a row other than PHANTOM whose date, vru_entry, vru_exit or
q_start is not a date or time of day, whose q_time or ser_time is over a day, or whose outcome is unknown. (q_exit,
ser_start and ser_exit are not read.)

Order: each file's events are sorted by time (ties keep each call's order: offered, answered, ended); files are
read in the given order, and events of a file later than the start of the next file (calls crossing midnight at
the end of a month) are merged into it, so monthly files given in date order give one time-ordered stream.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from operator import itemgetter
from pathlib import Path

from streams.adapters.base import AdapterError, BaseAdapter, Problems, ProblemSink, ReadStats, in_time_order
from streams.models.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, Event

COLUMNS = ("vru+line", "call_id", "type", "date", "vru_entry", "vru_exit", "vru_time", "q_start", "q_exit",
           "q_time", "outcome", "ser_start", "ser_exit", "ser_time", "server")
"""Columns the adapter needs (customer_id and priority are not used)."""

_OFFERED, _ANSWERED, _ABANDONED, _ENDED = range(4)
_HALF_DAY = 43_200
_DAY = 86_400

SKIP_PHANTOM = "PHANTOM rows (virtual calls, to be ignored per the documentation)"
SKIP_VRU_HANG = "HANG rows that never reached a queue (left in the VRU, never offered)"
SKIP_DIRECT = "AGENT rows that never queued (answered straight from the VRU; direct_answers=False)"
QUIRK_NEGATIVE_VRU = "rows with negative vru_time (vru_exit before vru_entry)"
QUIRK_NO_SERVER = "AGENT rows with server NO_SERVER (agent_id left empty)"
QUIRK_MIDNIGHT = "calls ending after midnight of the day they were offered"

_Timed = tuple[int, int, int, tzinfo, str, str, float, str | None, tuple[int, tzinfo] | None]
"""One event to be: UTC epoch seconds, sequence, kind, UTC offset, call id, queue, seconds (wait or talk), agent,
and for call.ended the offer time."""

_CLOCKS: dict[str, int] = {}
"""Seconds after midnight per `H:MM:SS` text seen (at most 86,400 entries, shared by all reads)."""
_EPOCH = datetime(1970, 1, 1)
_OFFSET_STEP = 900
"""Offsets are looked up per quarter hour of local time: real timezones change offset only on such boundaries."""


def _clock(text: str) -> int:
    """Seconds after midnight of `H:MM:SS` (ASCII digits only; anything else raises)."""
    value = _CLOCKS.get(text)
    if value is None:
        parts = text.split(":")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts) or len(parts[0]) > 2 \
                or len(parts[1]) != 2 or len(parts[2]) != 2:
            raise ValueError(f"bad time of day {text!r}")
        h, m, s = (int(p) for p in parts)
        value = h * 3600 + m * 60 + s
        if not (m < 60 and s < 60 and value < _DAY):
            raise ValueError(f"bad time of day {text!r}")
        _CLOCKS[text] = value
    return value


def _not_seconds(vru_time: str, q_time: str, ser_time: str) -> str:
    """Which duration column is not whole seconds (vru_time may be negative), for the problem report."""
    for what, text in (("vru_time", vru_time.removeprefix("-")), ("q_time", q_time), ("ser_time", ser_time)):
        if not text.isdigit():
            return f"{what} {text!r} is not a whole number of seconds"
    return "a duration is not a whole number of seconds"


def _date(text: str) -> int:
    """Local midnight of a YYMMDD date (years 50-99 are 19xx), as seconds since 1970-01-01 local."""
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"bad date {text!r} (expected YYMMDD)")
    yy = int(text[:2])
    day = datetime(1900 + yy if yy >= 50 else 2000 + yy, int(text[2:4]), int(text[4:]))
    return int((day - _EPOCH).total_seconds())


class _LocalTime:
    """Local wall-clock seconds -> (UTC epoch seconds, fixed-offset tzinfo), cached per quarter hour."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.offsets: dict[int, tuple[int, tzinfo]] = {}
        self.zones: dict[int, tzinfo] = {}

    def offset(self, local: int) -> tuple[int, tzinfo]:
        """UTC offset in seconds and its tzinfo at local time `local` (fold 0 for repeated or skipped times)."""
        step = local // _OFFSET_STEP
        found = self.offsets.get(step)
        if found is None:
            delta = self.tz.utcoffset(_EPOCH + timedelta(seconds=step * _OFFSET_STEP)) or timedelta(0)
            seconds = int(delta.total_seconds())
            zone = self.zones.setdefault(seconds, timezone(delta))
            found = self.offsets[step] = (seconds, zone)
        return found


@dataclass(frozen=True)
class AnonymousBankAdapter(BaseAdapter):
    """Per-call rows of the Anonymous Bank files -> offered / answered / abandoned / ended events."""

    name: str = "anonymous-bank"
    description: str = "Technion Anonymous Bank per-call records (tab-separated, 1999; one row per call)"
    timezone: str = "Asia/Jerusalem"
    direct_answers: bool = True
    """Calls the VRU passed straight to an agent count as offered and answered with wait 0 (else skipped)."""

    def read(self, paths: Sequence[Path], on_problem: ProblemSink | None = None,
             stats: ReadStats | None = None) -> Iterator[Event]:
        """Call events of the files, in time order (see the module docstring for the mapping)."""
        stats = stats if stats is not None else ReadStats()
        local_time = _LocalTime(self.zone())
        seq = itertools.count()
        counts = stats.events
        fromtimestamp = datetime.fromtimestamp
        for ts, _, kind, zone, call_id, queue, seconds, agent, offered in in_time_order(
                self._file(path, local_time, on_problem, stats, seq) for path in paths):
            at = fromtimestamp(ts, zone)
            event: Event
            if kind == _OFFERED:
                event = CallOffered(event_id=f"ab-{call_id}-offered", call_id=call_id, queue=queue, occurred_at=at)
            elif kind == _ANSWERED:
                event = CallAnswered(event_id=f"ab-{call_id}-answered", call_id=call_id, queue=queue, occurred_at=at,
                                     wait_seconds=seconds, agent_id=agent)
            elif kind == _ABANDONED:
                event = CallAbandoned(event_id=f"ab-{call_id}-abandoned", call_id=call_id, queue=queue,
                                      occurred_at=at, wait_seconds=seconds)
            else:
                event = CallEnded(event_id=f"ab-{call_id}-ended", call_id=call_id, queue=queue, occurred_at=at,
                                  talk_seconds=seconds,
                                  offered_at=None if offered is None else fromtimestamp(offered[0], offered[1]))
            counts[event.type] += 1
            yield event
        self.finish(stats, on_problem)

    def _file(self, path: Path, local_time: _LocalTime, on_problem: ProblemSink | None, stats: ReadStats,
              seq: Iterator[int]) -> list[_Timed]:
        """Event specs of one file with their UTC epoch seconds, sorted by (time, sequence).

        The hot loop of the adapter: plain tuples, cached clock and offset lookups, models built only on yield.
        """
        problems = Problems(path, on_problem, stats)
        out: list[_Timed] = []
        append = out.append
        dates: dict[str, int] = {}
        skipped, quirks = stats.skipped, stats.quirks
        clock_of, offsets, offset = _CLOCKS.get, local_time.offsets.get, local_time.offset
        direct_answers = self.direct_answers
        rows = 0
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            header = fh.readline().lstrip("\ufeff").rstrip("\r\n").split("\t")
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise AdapterError(f"{path}: not an Anonymous Bank call file: missing columns {', '.join(missing)}")
            width = len(header)
            (i_vru, i_cid, i_type, i_date, i_entry, i_vexit, i_vtime, i_qs, _i_qx, i_qtime, i_out, _i_ss, _i_se,
             i_stime, i_server) = (header.index(c) for c in COLUMNS)
            for line_no, line in enumerate(fh, 2):
                f = line.rstrip("\r\n").split("\t")
                if len(f) != width:
                    if line.strip():
                        problems.fields(line_no, len(f), width, "tab-separated fields")
                    continue
                rows += 1
                outcome = f[i_out]
                try:
                    v_text, q_text, s_text = f[i_vtime], f[i_qtime], f[i_stime]
                    negative = v_text[:1] == "-"
                    if not ((v_text[1:] if negative else v_text).isdigit() and q_text.isdigit() and s_text.isdigit()):
                        raise ValueError(_not_seconds(v_text, q_text, s_text))
                    if negative:
                        quirks[QUIRK_NEGATIVE_VRU] += 1
                    if outcome == "PHANTOM":
                        skipped[SKIP_PHANTOM] += 1
                        continue
                    q_time, ser_time = int(q_text), int(s_text)
                    if q_time > _DAY or ser_time > _DAY:
                        raise ValueError(f"q_time {q_time} or ser_time {ser_time} outside 0..86400")
                    q_start = clock_of(f[i_qs]) or _clock(f[i_qs])
                    entry = clock_of(f[i_entry]) or _clock(f[i_entry])
                    v_exit = clock_of(f[i_vexit]) or _clock(f[i_vexit])
                    date = f[i_date]
                    day = dates.get(date)
                    if day is None:
                        day = dates[date] = _date(date)
                    queue = f[i_type]
                    if not queue or len(queue) > 100 or not f[i_cid] or len(f[i_vru]) + len(f[i_cid]) > 150 \
                            or len(f[i_server]) > 200:
                        raise ValueError("empty or over-long call_id or type, or over-long vru+line or server")
                    if outcome == "HANG":
                        if q_time == 0:  # never reached the agents' queue: never offered
                            skipped[SKIP_VRU_HANG] += 1
                            continue
                    elif outcome != "AGENT":
                        raise ValueError(f"unknown outcome {outcome!r}")
                    elif q_start == 0 and q_time == 0 and not direct_answers:
                        skipped[SKIP_DIRECT] += 1
                        continue
                    if v_exit < entry - _HALF_DAY:  # the call crossed midnight in the VRU
                        v_exit += _DAY
                    # offered at vru_exit; answered or abandoned q_time later; ended ser_time after the answer
                    times = (v_exit, v_exit + q_time, v_exit + q_time + ser_time)
                except (ValueError, IndexError) as exc:
                    problems.row(line_no, str(exc))
                    continue
                if times[2] >= _DAY:
                    quirks[QUIRK_MIDNIGHT] += 1
                stamps: list[tuple[int, tzinfo]] = []
                for clock in times:
                    local = day + clock
                    found = offsets(local // _OFFSET_STEP)
                    shift, zone = found if found is not None else offset(local)
                    stamps.append((local - shift, zone))
                call_id = f"{f[i_vru]}-{date}-{f[i_cid]}"
                (t0, z0), (t1, z1), (t2, z2) = stamps
                append((t0, next(seq), _OFFERED, z0, call_id, queue, 0.0, None, None))
                if outcome == "HANG":
                    append((t1, next(seq), _ABANDONED, z1, call_id, queue, float(q_time), None, None))
                    continue
                server = f[i_server]
                agent = None if server == "NO_SERVER" else server
                if agent is None:
                    quirks[QUIRK_NO_SERVER] += 1
                append((t1, next(seq), _ANSWERED, z1, call_id, queue, float(q_time), agent, None))
                append((t2, next(seq), _ENDED, z2, call_id, queue, float(ser_time), agent, (t0, z0)))
        stats.rows += rows
        problems.close()
        out.sort(key=itemgetter(0, 1))
        return out
