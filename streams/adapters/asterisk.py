"""`asterisk-queue-log`: Asterisk `queue_log` files as call events.

Two layouts, told apart by the first line of each file:

- the classic pipe-separated file Asterisk writes, `epoch|callid|queue|agent|event|data1|data2|...`, whose data
  fields follow the Asterisk queue_log reference (CONNECT holdtime|bridged-uniqueid|ringtime;
  COMPLETECALLER/COMPLETEAGENT holdtime|calltime|origposition; ABANDON and EXITWITHTIMEOUT and EXITEMPTY
  position|origposition|waittime; EXITWITHKEY key|position|origposition|waittime; BLINDTRANSFER
  extension|context|holdtime|calltime; ATTENDEDTRANSFER method|target|holdtime|calltime, or
  LINK|channel1|channel2|holdtime|calltime);
- a CSV export of the queue_log table with a header row (`uid,date_time,callid,queue_name,type,event,param1,
  param2,param3,entpos,expos,htime,ttime,time`, as in ../shared/data/asterisk-queue-log/): `date_time` is the epoch,
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

Times are epoch seconds, so instants are exact; `occurred_at` carries the offset of the adapter's timezone
(default UTC; `--timezone` to show local times: the shared export's `time` column shows UTC-05:00).
Ids: call_id = the Asterisk uniqueid (callid); event_id = `aq-{callid}-{queue}-{epoch}-{kind}`.
Order: each file's events are sorted by time (ties keep file order); several files (rotated logs) are read in the
given order with their edges merged, so files given oldest first give one time-ordered stream.
"""

from __future__ import annotations

import csv
import itertools
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

CSV_COLUMNS = ("date_time", "callid", "queue_name", "event")
"""Columns a CSV export must have; `type` (or `agent`), param1.., `htime` and `ttime` are used when present."""

_Timed = tuple[int, int, str, str, str, float, str | None, float | None]
"""One event to be: epoch seconds, sequence, kind, call id, queue, seconds (wait or talk), agent, and for
call.ended the hold seconds before the answer when known."""


def _seconds(value: str | None, what: str) -> float:
    """A duration field: seconds in 0..86400."""
    try:
        seconds = float(value or "")
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"{what} {seconds:g} outside 0..86400")
    return seconds


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
            if "|" in first and head.isdigit():
                rows: Iterator[tuple[int, dict[str, str]]] = self._classic(fh)
            elif "," in first and all(c in first for c in CSV_COLUMNS):
                rows = self._csv(fh)
            else:
                raise AdapterError(f"{path}: not an Asterisk queue_log: the first line is neither "
                                   f"`epoch|callid|queue|agent|event|...` nor a CSV header with "
                                   f"{', '.join(CSV_COLUMNS)}")
            for line_no, row in rows:
                if not row:
                    problems.row(line_no, "too few fields")
                    continue
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
                kind, wait_at, talk_at = spec
                try:
                    epoch = int(float(row["epoch"]))
                    if not 0 <= epoch < 32_503_680_000:  # before the year 3000
                        raise ValueError(f"epoch {row['epoch']!r} out of range")
                    call_id = row["callid"]
                    if not call_id or len(call_id) > 150 or len(queue) > 100:
                        raise ValueError("empty or over-long callid or queue")
                    hold = None
                    if kind == _OFFERED:
                        seconds = 0.0
                    elif "htime" in row:
                        seconds = _seconds(row["ttime"] if talk_at is not None else row["htime"],
                                           "ttime" if talk_at is not None else "htime")
                        if talk_at is not None:
                            hold = _seconds(row["htime"], "htime")
                    elif talk_at is not None:
                        if event == "ATTENDEDTRANSFER" and row.get("data0") == "LINK":
                            talk_at += 1  # LINK|channel1|channel2|holdtime|calltime
                        seconds = _seconds(row.get(f"data{talk_at}"), "calltime")
                        hold = _seconds(row.get(f"data{talk_at - 1}"), "holdtime")
                    elif wait_at is not None:
                        seconds = _seconds(row.get(f"data{wait_at}"), "holdtime" if kind == _ANSWERED else "waittime")
                    else:
                        raise AssertionError(f"no duration field for {event}")
                except ValueError as exc:
                    problems.row(line_no, f"{event}: {exc}")
                    continue
                agent = row.get("agent") or None
                agent = None if agent == "NONE" else agent
                out.append((epoch, next(seq), kind, call_id, queue, seconds, agent, hold))
        problems.close()
        out.sort(key=itemgetter(0, 1))
        return out

    @staticmethod
    def _classic(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, fields by name) of the pipe layout; an empty dict for lines with too few fields."""
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            f = line.rstrip("\r\n").split("|")
            if len(f) < 5:
                yield line_no, {}
                continue
            row = {"epoch": f[0], "callid": f[1], "queue": f[2], "agent": f[3], "event": f[4]}
            row.update((f"data{i}", value) for i, value in enumerate(f[5:]))
            yield line_no, row

    @staticmethod
    def _csv(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, fields by name) of a CSV export, renamed to the classic names."""
        reader = csv.DictReader(lines)
        for record in reader:
            line_no = reader.line_num
            if None in record or any(record.get(c) is None for c in CSV_COLUMNS):
                yield line_no, {}
                continue
            row = {"epoch": record["date_time"], "callid": record["callid"], "queue": record["queue_name"],
                   "agent": record.get("agent") or record.get("type") or "", "event": record["event"]}
            row.update((f"data{i}", record.get(f"param{i + 1}") or "") for i in range(3))
            if record.get("htime") is not None and record.get("ttime") is not None:
                row["htime"], row["ttime"] = record["htime"], record["ttime"]
            yield line_no, row
