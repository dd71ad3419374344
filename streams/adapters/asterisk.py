"""`asterisk-queue-log`: Asterisk `queue_log` files as call events.

Two layouts, told apart by the first line of each file:

- the classic pipe-separated file Asterisk writes, `epoch|callid|queue|agent|event|data1|data2|...`, whose data
  fields follow the Asterisk queue_log reference (CONNECT holdtime|bridged-uniqueid|ringtime;
  COMPLETECALLER/COMPLETEAGENT holdtime|calltime|origposition; ABANDON and EXITWITHTIMEOUT and EXITEMPTY
  position|origposition|waittime; EXITWITHKEY key|position|origposition|waittime; BLINDTRANSFER
  extension|context|holdtime|calltime[|origposition]; ATTENDEDTRANSFER method|target|holdtime|calltime, or
  LINK|channel1|channel2|holdtime|calltime[|origposition]);
- a CSV export of the queue_log table with a header row (`uid,date_time,callid,queue_name,type,event,param1,
  param2,param3,entpos,expos,htime,ttime,time`, as a queue_log database table exports): `date_time` is the epoch,
  `type` holds the agent, and the export has already moved the durations into `htime` (hold or wait seconds) and
  `ttime` (talk seconds); its param1 holds the caller number, not the hold time. When `htime`/`ttime` are absent
  the params are read with the classic positions.

Mapping (queue = the queue name; lines whose queue is `NONE`, outbound and agent-session lines, are not calls):

- ENTERQUEUE -> `call.offered`;
- CONNECT -> `call.answered`, wait_seconds = holdtime, agent_id = the agent;
- COMPLETECALLER, COMPLETEAGENT, BLINDTRANSFER, ATTENDEDTRANSFER -> `call.ended`, talk_seconds = calltime and
  offered_at = end - calltime - holdtime (exact on the shared export); a transfer ends the call's time in this
  queue;
- ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY -> `call.abandoned`, wait_seconds = waittime (the caller left
  the queue unanswered, by hanging up, by timeout, because no agent was logged in, or by pressing a key);
- every other event (RINGNOANSWER, QUEUESTART, CONFIGRELOAD, ADDMEMBER, OUTDIAL, ...) is ignored and counted.

Malformed lines are reported through `on_problem` and skipped, never read as a wrong value: a CSV row with more or
fewer fields than the header (a missing column shifts or cuts the durations), a classic line with fewer than five
fields or with more non-empty data fields than its event has (`CLASSIC_MAX_DATA`), and any call-event line whose
epoch or duration is empty, missing, not a number, negative or over a day.

Times are epoch seconds, so instants are exact; `occurred_at` carries the offset of the adapter's timezone
(default UTC; `--timezone` to show local times: the shared export's `time` column shows UTC-05:00).
Ids: call_id = the Asterisk uniqueid (callid); event_id = `aq-{callid}-{queue}-{epoch}-{kind}`.
Order: each file's events are sorted by time (ties keep file order); several files (rotated logs) are read in the
given order with their edges merged, so files given oldest first give one time-ordered stream.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from operator import itemgetter
from pathlib import Path

from streams.adapters.base import AdapterError, BaseAdapter, Problems, ProblemSink, ReadStats, in_time_order
from streams.models.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, Event

_OFFERED, _ANSWERED, _ABANDONED, _ENDED = "offered", "answered", "abandoned", "ended"

CLASSIC_FIELDS: dict[str, tuple[str, int | None, int | None]] = {
    # event: (kind, index of the wait/hold seconds among data1.., index of the talk seconds)
    "ENTERQUEUE": (_OFFERED, None, None),
    "CONNECT": (_ANSWERED, 0, None),
    "COMPLETECALLER": (_ENDED, 0, 1),
    "COMPLETEAGENT": (_ENDED, 0, 1),
    "BLINDTRANSFER": (_ENDED, 2, 3),
    "ATTENDEDTRANSFER": (_ENDED, 2, 3),
    "ABANDON": (_ABANDONED, 2, None),
    "EXITWITHTIMEOUT": (_ABANDONED, 2, None),
    "EXITEMPTY": (_ABANDONED, 2, None),
    "EXITWITHKEY": (_ABANDONED, 3, None),
}
"""Queue events that become call events, with where the classic layout keeps their durations."""

CLASSIC_MAX_DATA: dict[str, int] = {
    "ENTERQUEUE": 3,  # url|callerid|position
    "CONNECT": 3,  # holdtime|bridged-uniqueid|ringtime
    "COMPLETECALLER": 3,  # holdtime|calltime|origposition
    "COMPLETEAGENT": 3,
    "BLINDTRANSFER": 5,  # extension|context|holdtime|calltime|origposition
    "ATTENDEDTRANSFER": 6,  # LINK|channel1|channel2|holdtime|calltime|origposition
    "ABANDON": 3,  # position|origposition|waittime
    "EXITWITHTIMEOUT": 3,
    "EXITEMPTY": 3,
    "EXITWITHKEY": 4,  # key|position|origposition|waittime
}
"""Most data fields any Asterisk version writes for each call event: a line with more non-empty ones has an extra
column, which may have shifted the durations, so it is reported and skipped."""

CSV_COLUMNS = ("date_time", "callid", "queue_name", "event")
"""Columns a CSV export must have; `type` (or `agent`), param1.., `htime` and `ttime` are used when present."""

_Timed = tuple[int, int, str, str, str, float, str | None, float | None]
"""One event to be: epoch seconds, sequence, kind, call id, queue, seconds (wait or talk), agent, and for
call.ended the hold seconds before the answer when known."""

_Rows = Iterator[tuple[int, dict[str, str]]]
"""(line number, fields by their classic names) of the well-formed lines of one file."""

_LAST_EPOCH = 32_503_680_000
"""1 January 3000: later epochs are taken for corrupt values."""
_DECIMAL = re.compile(r"\s*-?[0-9]+(?:\.[0-9]*)?\s*")
"""How queue_log writes numbers: digits, maybe a fraction (not `1e3`, `4_09`, `inf` or `nan`, which float() takes)."""


def _seconds(value: str | None, what: str) -> float:
    """A duration field: seconds in 0..86400 (empty, missing, negative or non-numeric values raise)."""
    if value is None:
        raise ValueError(f"{what} missing")
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a number of seconds")
    seconds = float(value)
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"{what} {value.strip()} outside 0..86400")
    return seconds


def _epoch(value: str) -> int:
    """An event time: whole epoch seconds between 1970 and the year 3000."""
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"epoch {value!r} is not a number")
    epoch = float(value)
    if not 0 <= epoch < _LAST_EPOCH:
        raise ValueError(f"epoch {value!r} out of range")
    return int(epoch)


def _data_fields(row: dict[str, str]) -> int:
    """How many data fields of a classic line carry a value (trailing empty ones carry none)."""
    count = 0
    while f"data{count}" in row:
        count += 1
    while count and not row[f"data{count - 1}"]:
        count -= 1
    return count


@dataclass(frozen=True)
class AsteriskQueueLogAdapter(BaseAdapter):
    """Asterisk queue_log lines (classic pipe layout or CSV table export) -> call events."""

    name: str = "asterisk-queue-log"
    description: str = "Asterisk queue_log: classic `epoch|callid|queue|agent|event|data...` or CSV table export"
    timezone: str = "UTC"

    def read(self, paths: Sequence[Path], on_problem: ProblemSink | None = None,
             stats: ReadStats | None = None) -> Iterator[Event]:
        """Call events of the files, in time order (see the module docstring for the mapping)."""
        stats = stats if stats is not None else ReadStats()
        tz = self.zone()
        seq = itertools.count()
        for epoch, _, kind, call_id, queue, seconds, agent, hold in in_time_order(
                self._file(path, on_problem, stats, seq) for path in paths):
            event = self._event(tz, epoch, kind, call_id, queue, seconds, agent, hold)
            stats.events[event.type] += 1
            yield event
        self.finish(stats, on_problem)

    @staticmethod
    def _event(tz: tzinfo, epoch: int, kind: str, call_id: str, queue: str, seconds: float, agent: str | None,
               hold: float | None) -> Event:
        at = datetime.fromtimestamp(epoch, tz)
        event_id = f"aq-{call_id}-{queue}-{epoch}-{kind}"
        if kind == _OFFERED:
            return CallOffered(event_id=event_id, call_id=call_id, queue=queue, occurred_at=at)
        if kind == _ANSWERED:
            return CallAnswered(event_id=event_id, call_id=call_id, queue=queue, occurred_at=at, wait_seconds=seconds,
                                agent_id=agent)
        if kind == _ABANDONED:
            return CallAbandoned(event_id=event_id, call_id=call_id, queue=queue, occurred_at=at,
                                 wait_seconds=seconds)
        offered = None if hold is None else datetime.fromtimestamp(epoch - seconds - hold, tz)
        return CallEnded(event_id=event_id, call_id=call_id, queue=queue, occurred_at=at, talk_seconds=seconds,
                         offered_at=offered)

    def _file(self, path: Path, on_problem: ProblemSink | None, stats: ReadStats,
              seq: Iterator[int]) -> list[_Timed]:
        """Event specs of one file, sorted by (time, sequence)."""
        problems = Problems(path, on_problem, stats)
        out: list[_Timed] = []
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            first = fh.readline()
            fh.seek(0)
            head = first.lstrip("\ufeff").split("|", 1)[0].strip()
            classic = "|" in first and head.isdigit()
            if classic:
                rows = self._classic(fh, problems)
            elif "," in first and all(c in first for c in CSV_COLUMNS):
                rows = self._csv(fh, path, problems)
            else:
                raise AdapterError(f"{path}: not an Asterisk queue_log: the first line is neither "
                                   f"`epoch|callid|queue|agent|event|...` nor a CSV header with "
                                   f"{', '.join(CSV_COLUMNS)}")
            for line_no, row in rows:
                stats.rows += 1
                event = row["event"]
                spec = CLASSIC_FIELDS.get(event)
                if spec is None:
                    stats.skipped[f"{event or '(empty)'} lines (not a call event)"] += 1
                    continue
                queue = row["queue"]
                if queue in ("", "NONE"):
                    stats.skipped[f"{event} lines without a queue"] += 1
                    continue
                try:
                    timed = self._timed(row, spec, seq, classic)
                except ValueError as exc:
                    problems.row(line_no, f"{event}: {exc}")
                    continue
                out.append(timed)
        problems.close()
        out.sort(key=itemgetter(0, 1))
        return out

    @staticmethod
    def _timed(row: dict[str, str], spec: tuple[str, int | None, int | None], seq: Iterator[int],
               classic: bool) -> _Timed:
        """The event spec of one call-event line (`classic`: of the pipe layout); ValueError says what is wrong."""
        event, queue = row["event"], row["queue"]
        kind, wait_at, talk_at = spec
        epoch = _epoch(row["epoch"])
        call_id = row["callid"]
        if not call_id or len(call_id) > 70 or len(queue) > 100:  # the event id holds both: at most 200 characters
            raise ValueError("empty or over-long callid or queue")
        hold = None
        if "htime" in row:  # a CSV export: the durations are in their own columns
            if kind == _OFFERED:
                seconds = 0.0
            elif talk_at is not None:
                seconds, hold = _seconds(row["ttime"], "ttime"), _seconds(row["htime"], "htime")
            else:
                seconds = _seconds(row["htime"], "htime")
        else:
            if classic:  # the pipe layout: how many data fields each event has is known
                extra = _data_fields(row) - CLASSIC_MAX_DATA[event]
                if extra > 0:
                    raise ValueError(f"{extra} data field(s) more than {event} has (an extra column?)")
            if kind == _OFFERED:
                seconds = 0.0
            elif talk_at is not None:
                if event == "ATTENDEDTRANSFER" and row.get("data0") == "LINK":
                    talk_at += 1  # LINK|channel1|channel2|holdtime|calltime
                seconds = _seconds(row.get(f"data{talk_at}"), "calltime")
                hold = _seconds(row.get(f"data{talk_at - 1}"), "holdtime")
            elif wait_at is not None:
                seconds = _seconds(row.get(f"data{wait_at}"), "holdtime" if kind == _ANSWERED else "waittime")
            else:
                raise AssertionError(f"no duration field for {event}")
        agent = row.get("agent") or None
        if agent is not None and len(agent) > 200:
            raise ValueError("over-long agent")
        agent = None if agent == "NONE" else agent
        return epoch, next(seq), kind, call_id, queue, seconds, agent, hold

    @staticmethod
    def _classic(lines: Iterator[str], problems: Problems) -> _Rows:
        """Well-formed lines of the pipe layout; lines with fewer than the five fixed fields are reported."""
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            f = line.rstrip("\r\n").split("|")
            if len(f) < 5:
                problems.row(line_no, "too few fields")
                continue
            row = {"epoch": f[0], "callid": f[1], "queue": f[2], "agent": f[3], "event": f[4]}
            row.update((f"data{i}", value) for i, value in enumerate(f[5:]))
            yield line_no, row

    @staticmethod
    def _csv(lines: Iterator[str], path: Path, problems: Problems) -> _Rows:
        """Rows of a CSV export, renamed to the classic names; rows with a missing or an extra column are reported."""
        reader = csv.reader(lines)
        header = [h.lstrip("\ufeff").strip() for h in next(reader, [])]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise AdapterError(f"{path}: not an Asterisk queue_log export: missing columns {', '.join(missing)}")
        width = len(header)
        durations = "htime" in header and "ttime" in header
        for record in reader:
            line_no = reader.line_num
            if not record or record == [""]:
                continue
            if not problems.fields(line_no, len(record), width):
                continue
            named = dict(zip(header, record, strict=True))
            row = {"epoch": named["date_time"], "callid": named["callid"], "queue": named["queue_name"],
                   "agent": named.get("agent") or named.get("type") or "", "event": named["event"]}
            row.update((f"data{i}", named.get(f"param{i + 1}") or "") for i in range(3))
            if durations:
                row["htime"], row["ttime"] = named["htime"], named["ttime"]
            yield line_no, row
