"""Every adapter reports and skips a corrupt row (a missing or an extra column, an empty, non-numeric, negative or
out-of-range number) instead of reading a wrong value from it; the other rows still give their events.

Each case takes a small valid file written here in the source's format, corrupts one line of it, and checks that
exactly that line is reported, counted as malformed, and gives no event, while the file's other events are those
of the valid file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from streams.adapters import ReadStats, adapter_for
from streams.models import Event

Corrupt = Callable[[list[str]], list[str]]
"""Changes the fields of one line."""

ASTERISK_CSV = """\
uid,date_time,callid,queue_name,type,event,param1,param2,param3,entpos,expos,htime,ttime,time
1,1543602677,1543602660.197,IT,NONE,ENTERQUEUE,5558792758,,,1,0,0,0,2018-11-30 13:31:17
2,1543602753,1543602660.197,IT,Agent/1127,CONNECT,,1543602746.232,6,0,0,76,0,2018-11-30 13:32:34
3,1543603600,1543602660.197,IT,Agent/1127,COMPLETECALLER,5558792758,,,1,0,76,409,2018-11-30 13:46:41
4,1543852000,1543852000.1574,IT,NONE,ENTERQUEUE,5551923362,,,1,0,0,0,2018-12-03 10:46:40
5,1543852191,1543852000.1574,IT,NONE,ABANDON,5551923362,,,1,1,191,0,2018-12-03 10:49:51
"""

ASTERISK_CLASSIC = """\
1543602677|1543602660.197|support|NONE|ENTERQUEUE||5558792758|1
1543602753|1543602660.197|support|SIP/1127|CONNECT|76|1543602746.232|6
1543603600|1543602660.197|support|SIP/1127|COMPLETEAGENT|76|409|1
1543852000|1543852000.1574|support|NONE|ENTERQUEUE||5551923362|1
1543852191|1543852000.1574|support|NONE|ABANDON|1|1|191
"""

BANK = """\
vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\
\tser_start\tser_exit\tser_time\tserver
AA0101\t33116\t9664491\t2\tPS\t990131\t9:00:00\t9:00:06\t6\t9:00:06\t9:00:46\t40\tAGENT\t9:00:45\t9:07:34\t409\tMICHAL
AA0101\t33117\t27997683\t1\tNW\t990131\t9:02:00\t9:02:05\t5\t9:02:05\t9:03:05\t60\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER
"""

_SN_HEADER = ("number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,opened_at,"
              "sys_updated_at,contact_type,category,priority,assignment_group,resolved_at,closed_at")
SERVICENOW = "\n".join([
    _SN_HEADER,
    "INC1,New,TRUE,0,0,0,TRUE,01-03-2016 10:00,01-03-2016 10:05,Phone,Category 26,2 - High,Group 1,"
    "01-03-2016 15:00,06-03-2016 15:00",
    "INC1,Active,TRUE,0,0,1,TRUE,01-03-2016 10:00,01-03-2016 11:00,Phone,Category 26,2 - High,Group 1,"
    "01-03-2016 15:00,06-03-2016 15:00",
    "INC1,Resolved,TRUE,0,0,2,TRUE,01-03-2016 10:00,01-03-2016 14:00,Phone,Category 26,2 - High,Group 1,"
    "01-03-2016 15:00,06-03-2016 15:00",
    "INC2,New,TRUE,0,0,0,TRUE,02-03-2016 08:00,02-03-2016 08:00,Email,Category 5,3 - Moderate,Group 2,"
    "02-03-2016 10:00,08-03-2016 16:00",
    "INC2,Resolved,TRUE,0,0,1,TRUE,02-03-2016 08:00,02-03-2016 10:00,Email,Category 5,3 - Moderate,Group 2,"
    "02-03-2016 10:00,08-03-2016 16:00",
    "INC2,Closed,FALSE,0,0,2,TRUE,02-03-2016 08:00,08-03-2016 16:00,Email,Category 5,3 - Moderate,Group 2,"
    "02-03-2016 10:00,08-03-2016 16:00",
]) + "\n"

SOURCES = {
    # source: (adapter name, file text, field separator, file name)
    "asterisk-csv": ("asterisk-queue-log", ASTERISK_CSV, ",", "queue_log.csv"),
    "asterisk-classic": ("asterisk-queue-log", ASTERISK_CLASSIC, "|", "queue_log"),
    "anonymous-bank": ("anonymous-bank", BANK, "\t", "bank.txt"),
    "servicenow": ("servicenow-incidents", SERVICENOW, ",", "incidents.csv"),
}


def put(fields: list[str], index: int, value: str) -> list[str]:
    """The fields with the one at `index` replaced."""
    return [*fields[:index], value, *fields[index + 1:]]


CASES: list[tuple[str, str, int, Corrupt, str]] = [
    # (case, source, line number (1 = first line of the file), corruption, words of the reported reason)
    # The defect: a COMPLETECALLER row cut inside ttime (409 -> 33) lost its last column.
    ("csv truncated ttime", "asterisk-csv", 4, lambda f: [*f[:12], "33"], "expected 14 fields, found 13"),
    ("csv missing column", "asterisk-csv", 6, lambda f: f[:-1], "expected 14 fields, found 13"),
    ("csv extra column", "asterisk-csv", 4, lambda f: [*f, "x"], "expected 14 fields, found 15"),
    ("csv extra column inside", "asterisk-csv", 3, lambda f: [*f[:6], "", *f[6:]], "expected 14 fields, found 15"),
    ("csv empty ttime", "asterisk-csv", 4, lambda f: put(f, 12, ""), "ttime '' is not a number"),
    ("csv empty htime", "asterisk-csv", 6, lambda f: put(f, 11, ""), "htime '' is not a number"),
    ("csv non-numeric htime", "asterisk-csv", 3, lambda f: put(f, 11, "7 6"), "htime '7 6' is not a number"),
    ("csv negative ttime", "asterisk-csv", 4, lambda f: put(f, 12, "-409"), "ttime -409 outside 0..86400"),
    ("csv nan ttime", "asterisk-csv", 4, lambda f: put(f, 12, "nan"), "ttime 'nan' is not a number"),
    ("csv infinite wait", "asterisk-csv", 6, lambda f: put(f, 11, "inf"), "htime 'inf' is not a number"),
    ("csv underscored ttime", "asterisk-csv", 4, lambda f: put(f, 12, "4_09"), "ttime '4_09' is not a number"),
    ("csv exponent ttime", "asterisk-csv", 4, lambda f: put(f, 12, "4e2"), "ttime '4e2' is not a number"),
    ("csv far epoch", "asterisk-csv", 5, lambda f: put(f, 1, "99999999999"), "epoch '99999999999' out of range"),
    ("csv empty epoch", "asterisk-csv", 2, lambda f: put(f, 1, ""), "epoch '' is not a number"),
    ("csv overflowing epoch", "asterisk-csv", 3, lambda f: put(f, 1, "1e400"), "epoch '1e400' is not a number"),
    ("csv nan epoch", "asterisk-csv", 3, lambda f: put(f, 1, "nan"), "epoch 'nan' is not a number"),
    ("classic missing calltime", "asterisk-classic", 3, lambda f: f[:6], "calltime missing"),
    ("classic extra field", "asterisk-classic", 3, lambda f: [*f, "12"], "1 data field(s) more than COMPLETEAGENT"),
    ("classic shifted durations", "asterisk-classic", 3, lambda f: [*f[:5], "2", *f[5:]],
     "1 data field(s) more than COMPLETEAGENT"),
    ("classic empty holdtime", "asterisk-classic", 2, lambda f: put(f, 5, ""), "holdtime '' is not a number"),
    ("classic negative waittime", "asterisk-classic", 5, lambda f: put(f, 7, "-191"), "waittime -191 outside"),
    ("classic non-numeric calltime", "asterisk-classic", 3, lambda f: put(f, 6, "4o9"), "calltime '4o9' is not"),
    ("classic extra field on an offer", "asterisk-classic", 4, lambda f: [*f, "x"], "more than ENTERQUEUE"),
    ("bank missing column", "anonymous-bank", 2, lambda f: f[:-1], "expected 17 tab-separated fields, found 16"),
    ("bank extra column", "anonymous-bank", 2, lambda f: [*f, ""], "expected 17 tab-separated fields, found 18"),
    ("bank empty ser_time", "anonymous-bank", 2, lambda f: put(f, 15, ""), "ser_time '' is not a whole number"),
    ("bank non-numeric ser_time", "anonymous-bank", 2, lambda f: put(f, 15, "4O9"), "ser_time '4O9' is not"),
    ("bank fractional ser_time", "anonymous-bank", 2, lambda f: put(f, 15, "40.9"), "ser_time '40.9' is not"),
    ("bank underscored ser_time", "anonymous-bank", 2, lambda f: put(f, 15, "4_09"), "ser_time '4_09' is not"),
    ("bank negative q_time", "anonymous-bank", 3, lambda f: put(f, 11, "-60"), "q_time '-60' is not a whole"),
    ("bank empty q_time", "anonymous-bank", 3, lambda f: put(f, 11, ""), "q_time '' is not a whole number"),
    ("bank huge q_time", "anonymous-bank", 2, lambda f: put(f, 11, "86401"), "q_time 86401 or ser_time 409 outside"),
    ("bank empty vru_time", "anonymous-bank", 2, lambda f: put(f, 8, ""), "vru_time '' is not a whole number"),
    ("bank non-numeric vru_time", "anonymous-bank", 3, lambda f: put(f, 8, "-x"), "vru_time 'x' is not"),
    ("bank empty vru_exit", "anonymous-bank", 2, lambda f: put(f, 7, ""), "bad time of day ''"),
    ("bank broken q_start", "anonymous-bank", 2, lambda f: put(f, 9, "9:0:06"), "bad time of day '9:0:06'"),
    ("bank negative clock", "anonymous-bank", 2, lambda f: put(f, 6, "-1:00:00"), "bad time of day '-1:00:00'"),
    ("bank empty date", "anonymous-bank", 3, lambda f: put(f, 5, ""), "bad date ''"),
    ("servicenow missing column", "servicenow", 3, lambda f: f[:-1], "expected 15 fields, found 14"),
    ("servicenow extra column", "servicenow", 6, lambda f: [*f, "x"], "expected 15 fields, found 16"),
    # A reopen_count of `?` read as 0 turned the next row's 0 -> 1 ... into a reopening that never happened.
    ("servicenow missing reopen_count", "servicenow", 3, lambda f: put(f, 4, "?"), "reopen_count '?' is not"),
    ("servicenow empty reopen_count", "servicenow", 6, lambda f: put(f, 4, ""), "reopen_count '' is not"),
    ("servicenow negative reopen_count", "servicenow", 2, lambda f: put(f, 4, "-1"), "reopen_count '-1' is not"),
    ("servicenow empty state", "servicenow", 4, lambda f: put(f, 1, ""), "incident_state missing"),
    ("servicenow empty update time", "servicenow", 7, lambda f: put(f, 8, ""), "does not match format"),
]


def read(name: str, path: Path) -> tuple[list[Event], ReadStats, list[str]]:
    """Events, stats and reported problems of one adapter run over one file."""
    stats, problems = ReadStats(), []
    return list(adapter_for(name).read([path], problems.append, stats)), stats, problems


def corrupted(text: str, sep: str, line: int, corrupt: Corrupt) -> str:
    """The file text with one line's fields changed."""
    lines = text.splitlines()
    lines[line - 1] = sep.join(corrupt(lines[line - 1].split(sep)))
    return "\n".join(lines) + "\n"


def ids(events: list[Event]) -> set[str]:
    return {e.event_id for e in events}


@pytest.mark.parametrize(("case", "source", "line", "corrupt", "reason"), CASES, ids=[c[0] for c in CASES])
def test_a_corrupt_row_is_reported_and_skipped(tmp_path: Path, case: str, source: str, line: int,
                                               corrupt: Corrupt, reason: str) -> None:
    name, text, sep, file_name = SOURCES[source]
    valid = tmp_path / f"valid-{file_name}"
    valid.write_text(text, encoding="utf-8")
    good, good_stats, good_problems = read(name, valid)
    assert good_stats.malformed == 0 and not any("skipped:" in p for p in good_problems)

    bad = tmp_path / file_name
    bad.write_text(corrupted(text, sep, line, corrupt), encoding="utf-8")
    events, stats, problems = read(name, bad)
    reported = [p for p in problems if p.startswith(f"{bad}:")]
    assert len(reported) == 1 and stats.malformed == 1, problems
    assert reported[0].startswith(f"{bad}:{line}: skipped: ") and reason in reported[0], reported[0]
    lost = ids(good) - ids(events)
    assert lost, f"{case}: the corrupt line still gave all its events"
    assert ids(events) < ids(good), f"{case}: events that the valid file does not give"
    kept = {e.event_id: e for e in good}
    assert all(e == kept[e.event_id] for e in events), f"{case}: a kept event changed"


def test_a_truncated_talk_time_no_longer_lowers_the_average(tmp_path: Path) -> None:
    """The defect's example: a COMPLETECALLER row cut inside its ttime (no `time` column left) was read with the cut
    value; now the hour's talk time is that of the complete rows only."""
    path = tmp_path / "queue_log.csv"
    ended = "{uid},{epoch},{call},IT,Agent/1127,COMPLETECALLER,555,,,1,0,10,{talk}"
    rows = [ended.format(uid=1, epoch=1543603600, call="1.1", talk="409") + ",2018-11-30 13:46:40",
            ended.format(uid=2, epoch=1543603700, call="1.2", talk="409") + ",2018-11-30 13:48:20",
            ended.format(uid=3, epoch=1543603800, call="1.3", talk="18")]  # cut: "187,2018-11-30 13:50:00" lost
    path.write_text(ASTERISK_CSV.splitlines()[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    events, stats, problems = read("asterisk-queue-log", path)
    talk = [e.talk_seconds for e in events if e.type == "call.ended"]  # type: ignore[attr-defined]
    assert sum(talk) / len(talk) == 409.0
    assert stats.malformed == 1 and problems[0] == f"{path}:4: skipped: expected 14 fields, found 13"


def test_trailing_empty_fields_and_blank_lines_are_not_problems(tmp_path: Path) -> None:
    """What carries no value cannot corrupt one: a classic line ending in `|` and blank lines are read as usual."""
    path = tmp_path / "queue_log"
    path.write_text(ASTERISK_CLASSIC.replace("|76|409|1\n", "|76|409|1||\n\n"), encoding="utf-8")
    events, stats, problems = read("asterisk-queue-log", path)
    assert stats.malformed == 0 and len(events) == 5, problems
    ended = [e for e in events if e.type == "call.ended"]
    assert [e.talk_seconds for e in ended] == [409.0]  # type: ignore[attr-defined]


def test_over_long_ids_are_reported_not_raised(tmp_path: Path) -> None:
    """Ids that would make an event id over the model's 200 characters are a reported row, not a crash."""
    for source, line, index in (("asterisk-classic", 3, 1), ("anonymous-bank", 2, 0), ("servicenow", 5, 0)):
        name, text, sep, file_name = SOURCES[source]
        lines = text.splitlines()
        long_id = "X" * 190
        for n, row in enumerate(lines):
            fields = row.split(sep)
            if n + 1 == line or (source == "servicenow" and fields[0] == lines[line - 1].split(sep)[0]):
                lines[n] = sep.join(put(fields, index, long_id))
        path = tmp_path / file_name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _, stats, problems = read(name, path)
        assert stats.malformed == 1 and "over-long" in problems[0], (source, problems)
