"""Source adapters on small hand-written files in the real formats: mapping, quirks, order, the CLI entry points."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.adapters import (
    ADAPTERS,
    AdapterError,
    AnonymousBankAdapter,
    ReadStats,
    adapter_for,
    in_time_order,
)
from streams.adapters import anonymous_bank as ab
from streams.cli.main import app
from streams.cli.replay import replay_command
from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.kafka_io import topics
from streams.models import Event, ServiceProbe, SurveySubmitted, TicketCreated, routing_key
from streams.sim.producer import topic_for
from tests.helpers import offered

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"
AB_FILES = [FIXTURES / "anonymous-bank-01.txt", FIXTURES / "anonymous-bank-02.txt"]
AB_CONTRACT = FIXTURES / "anonymous-bank-contract.yaml"
IL_WINTER = timezone(timedelta(hours=2))
runner = CliRunner()


def read(name: str, files: list[Path], **options: str) -> tuple[list[Event], ReadStats, list[str]]:
    """Events, stats and reported problems of one adapter run."""
    stats, problems = ReadStats(), []
    adapter = adapter_for(name, options.get("timezone"))
    return list(adapter.read(files, problems.append, stats)), stats, problems


def by_id(events: list[Event]) -> dict[str, Event]:
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids)), "event ids must be unique"
    return dict(zip(ids, events, strict=True))


def assert_time_ordered(events: list[Event]) -> None:
    times = [e.occurred_at.timestamp() for e in events]
    assert times == sorted(times)


def test_registry_and_lookup() -> None:
    assert sorted(ADAPTERS) == ["anonymous-bank", "asterisk-queue-log", "servicenow-incidents"]
    assert all(a.name == name and a.description for name, a in ADAPTERS.items())
    assert adapter_for("anonymous-bank").timezone == "Asia/Jerusalem"
    assert adapter_for("asterisk-queue-log", "America/New_York").timezone == "America/New_York"
    with pytest.raises(AdapterError, match="unknown source 'nope'; choose one of: anonymous-bank"):
        adapter_for("nope")
    with pytest.raises(AdapterError, match="unknown timezone 'Mars/Olympus'"):
        adapter_for("anonymous-bank", "Mars/Olympus")


def test_anonymous_bank_maps_each_outcome() -> None:
    events, stats, problems = read("anonymous-bank", AB_FILES)
    e = by_id(events)
    # AGENT: offered at vru_exit, answered q_time later, ended ser_time after the answer (the adapter's definitions).
    assert e["ab-AA0101-990131-33116-offered"].occurred_at == datetime(1999, 1, 31, 9, 0, 6, tzinfo=IL_WINTER)
    answered = e["ab-AA0101-990131-33116-answered"]
    assert (answered.occurred_at, answered.wait_seconds, answered.agent_id, answered.queue) == (
        datetime(1999, 1, 31, 9, 0, 46, tzinfo=IL_WINTER), 40.0, "MICHAL", "PS")
    ended = e["ab-AA0101-990131-33116-ended"]
    assert (ended.occurred_at, ended.talk_seconds, ended.offered_at) == (
        datetime(1999, 1, 31, 9, 3, 46, tzinfo=IL_WINTER), 180.0, datetime(1999, 1, 31, 9, 0, 6, tzinfo=IL_WINTER))
    # Same source call_id on another VRU line the same day: a different call. Not queued: answered with wait 0.
    direct = e["ab-AA0203-990131-33116-answered"]
    assert (direct.call_id, direct.wait_seconds, direct.occurred_at) == (
        "AA0203-990131-33116", 0.0, datetime(1999, 1, 31, 9, 1, 10, tzinfo=IL_WINTER))
    # HANG with q_time > 0: offered + abandoned.
    assert e["ab-AA0101-990131-33117-abandoned"].wait_seconds == 60.0
    # HANG with q_time 0 (even with a q_start) never reached the agents' queue; PHANTOM: no events, counted.
    assert not any(i.startswith(("ab-AA0101-990131-33118", "ab-AA0101-990131-33119", "ab-AA0101-990131-33121"))
                   for i in e)
    assert stats.skipped == {ab.SKIP_VRU_HANG: 2, ab.SKIP_PHANTOM: 1}
    counts = Counter(x.type for x in events)
    assert counts == {"call.offered": 10, "call.answered": 7, "call.ended": 7, "call.abandoned": 3}
    assert stats.events == counts and stats.rows == 14 and stats.malformed == 2
    assert {x.queue for x in events} == {"PS", "NW", "NE"}
    assert problems[:2] == [f"{AB_FILES[0]}:12: skipped: expected 17 tab-separated fields, found 3",
                            f"{AB_FILES[0]}:14: skipped: bad time of day '9:61:05'"]
    assert "anonymous-bank: skipped 1: PHANTOM rows (virtual calls, to be ignored per the documentation)" in problems


def test_anonymous_bank_quirks_midnight_and_order() -> None:
    events, stats, _ = read("anonymous-bank", AB_FILES)
    e = by_id(events)
    assert stats.quirks == {ab.QUIRK_NEGATIVE_VRU: 1, ab.QUIRK_NO_SERVER: 1, ab.QUIRK_MIDNIGHT: 1}
    # Negative vru_time: vru_exit a little before vru_entry stays on the same day.
    assert e["ab-AA0102-990131-28993-offered"].occurred_at == datetime(1999, 1, 31, 15, 9, 17, tzinfo=IL_WINTER)
    # NO_SERVER: no agent; no service time: ended at the answer with talk 0.
    assert e["ab-AA0101-990131-33120-answered"].agent_id is None
    assert e["ab-AA0101-990131-33120-ended"].occurred_at == e["ab-AA0101-990131-33120-answered"].occurred_at
    no_service = e["ab-AA0102-990131-28607-ended"]
    assert (no_service.occurred_at, no_service.talk_seconds) == (
        datetime(1999, 1, 31, 13, 4, 8, tzinfo=IL_WINTER), 0.0)
    # Offered at 23:59:54, answered after midnight: the call is merged with the next file's events.
    assert e["ab-AA0102-990131-31056-offered"].occurred_at == datetime(1999, 1, 31, 23, 59, 54, tzinfo=IL_WINTER)
    crossing = [x.event_id for x in events if x.occurred_at.date().isoformat() == "1999-02-01"]
    assert crossing == ["ab-AA0101-990201-40001-offered", "ab-AA0101-990201-40001-abandoned",
                        "ab-AA0102-990131-31056-answered", "ab-AA0102-990131-31056-ended"]
    # Summer time in Israel: +03:00.
    assert e["ab-AA0101-990615-40002-offered"].occurred_at.isoformat() == "1999-06-15T12:00:05+03:00"
    assert_time_ordered(events)
    calls = [x for x in events if x.call_id == "AA0101-990131-33116"]
    assert [x.type for x in calls] == ["call.offered", "call.answered", "call.ended"]


def test_anonymous_bank_without_direct_answers_and_in_another_timezone() -> None:
    stats = ReadStats()
    events = list(AnonymousBankAdapter(direct_answers=False).read(AB_FILES, None, stats))
    assert stats.skipped[ab.SKIP_DIRECT] == 1 and len(events) == 27 - 3
    assert not any(x.call_id == "AA0203-990131-33116" for x in events)
    utc, _, _ = read("anonymous-bank", AB_FILES, timezone="UTC")
    assert by_id(utc)["ab-AA0101-990131-33116-offered"].occurred_at == datetime(1999, 1, 31, 9, 0, 6, tzinfo=UTC)


def test_anonymous_bank_rejects_another_format() -> None:
    with pytest.raises(AdapterError, match="not an Anonymous Bank call file: missing columns vru\\+line"):
        list(ADAPTERS["anonymous-bank"].read([FIXTURES / "queue_log.csv"]))


def test_asterisk_csv_export_uses_htime_and_ttime() -> None:
    events, stats, problems = read("asterisk-queue-log", [FIXTURES / "queue_log.csv"])
    e = by_id(events)
    assert [(x.type, x.occurred_at.isoformat()) for x in events[:3]] == [
        ("call.offered", "2018-11-30T18:31:17+00:00"), ("call.answered", "2018-11-30T18:32:33+00:00"),
        ("call.ended", "2018-11-30T18:46:40+00:00")]
    answered = e["aq-1543602660.197-IT-1543602753-answered"]
    assert (answered.wait_seconds, answered.agent_id, answered.queue) == (76.0, "Agent/1127", "IT")
    ended = e["aq-1543602660.197-IT-1543603600-ended"]
    assert ended.talk_seconds == 847.0
    assert ended.offered_at == e["aq-1543602660.197-IT-1543602677-offered"].occurred_at
    assert e["aq-1543852000.1574-IT-1543852191-abandoned"].wait_seconds == 191.0
    assert e["aq-1543860451.3324-IT-1543860751-abandoned"].wait_seconds == 300.0  # EXITWITHTIMEOUT
    assert e["aq-1543938872.1743-IT-1543938916-ended"].talk_seconds == 38.0  # BLINDTRANSFER ends the call here
    assert Counter(x.type for x in events) == {"call.offered": 4, "call.answered": 2, "call.ended": 2,
                                               "call.abandoned": 2}
    assert stats.skipped == {f"{name} lines (not a call event)": 1
                             for name in ("QUEUESTART", "RINGNOANSWER", "OUTDIAL", "CONFIGRELOAD")}
    assert problems[0] == f"{FIXTURES / 'queue_log.csv'}:15: skipped: CONNECT: htime 'abc' is not a number of seconds"
    assert_time_ordered(events)
    assert all(x.call_id for x in events)


def test_asterisk_classic_pipe_format_and_timezone() -> None:
    events, stats, problems = read("asterisk-queue-log", [FIXTURES / "queue_log"], timezone="America/New_York")
    e = by_id(events)
    answered = e["aq-1543602660.197-support-1543602753-answered"]
    assert (answered.wait_seconds, answered.occurred_at.isoformat()) == (
        76.0, "2018-11-30T13:32:33-05:00")
    assert e["aq-1543602660.197-support-1543603600-ended"].talk_seconds == 847.0
    assert e["aq-1543852000.1574-support-1543852191-abandoned"].wait_seconds == 191.0
    assert e["aq-1543860451.3324-sales-1543860455-abandoned"].wait_seconds == 4.0
    assert e["aq-1543860460.3330-sales-1543860470-abandoned"].wait_seconds == 10.0
    transfer = e["aq-1543860480.3340-sales-1543860503-ended"]
    assert (transfer.talk_seconds, transfer.offered_at) == (
        20.0, e["aq-1543860480.3340-sales-1543860480-offered"].occurred_at)
    assert Counter(x.type for x in events) == {"call.offered": 6, "call.answered": 2, "call.ended": 2,
                                               "call.abandoned": 3}
    assert stats.malformed == 2 and problems[:2] == [
        f"{FIXTURES / 'queue_log'}:15: skipped: too few fields",
        f"{FIXTURES / 'queue_log'}:17: skipped: CONNECT: holdtime -5 outside 0..86400"]
    with pytest.raises(AdapterError, match="not an Asterisk queue_log"):
        list(ADAPTERS["asterisk-queue-log"].read([FIXTURES / "incidents.csv"]))


def test_servicenow_incident_lifecycles() -> None:
    events, stats, problems = read("servicenow-incidents", [FIXTURES / "incidents.csv"])
    per_ticket: dict[str, list[tuple[str, str]]] = {}
    for x in events:
        per_ticket.setdefault(x.ticket_id, []).append(
            (x.type.removeprefix("ticket."), x.occurred_at.strftime("%d %H:%M")))
    assert per_ticket == {
        # New -> Active (first response) -> Awaiting User Info -> Active -> Resolved (at resolved_at) -> Closed.
        "INC0000001": [("created", "01 10:00"), ("first_response", "01 11:00"), ("updated", "01 12:00"),
                       ("updated", "01 13:00"), ("resolved", "01 15:00"), ("closed", "06 15:00")],
        # Logged already Active, updated before opened_at (moved to it); resolved_at missing (sys_updated_at).
        "INC0000002": [("created", "01 09:41"), ("first_response", "01 09:41"), ("resolved", "02 09:00"),
                       ("closed", "07 09:00")],
        # New -> Resolved: first response and resolution at once; the second Closed row changes nothing.
        "INC0000003": [("created", "01 16:00"), ("first_response", "01 16:30"), ("resolved", "01 16:30"),
                       ("closed", "06 17:00")],
        # Resolved, reopened (reopen_count 0 -> 1), resolved again (the last one at resolved_at), closed.
        "INC0000004": [("created", "02 08:00"), ("first_response", "02 08:30"), ("resolved", "02 10:00"),
                       ("reopened", "02 12:00"), ("resolved", "02 16:00"), ("closed", "08 16:00")],
    }
    created = by_id(events)["sn-INC0000003-created"]
    assert isinstance(created, TicketCreated)
    assert (created.category, created.priority, created.channel, created.queue) == ("unknown", "4 - Low", "Phone", None)
    assert stats.quirks == {"events stamped before the previous event of their ticket (moved to that time)": 1,
                            "incidents resolved without resolved_at (sys_updated_at used)": 1,
                            "incidents without a category (`unknown` used)": 1}
    assert problems[0] == f"{FIXTURES / 'incidents.csv'}:12: skipped: expected 36 fields, found 4"
    assert_time_ordered(events)
    assert {routing_key(x) for x in events} == set(per_ticket)


def test_in_time_order_merges_overlapping_batches() -> None:
    batches = [[(1.0, 0, "a"), (5.0, 1, "b"), (9.0, 2, "c")], [], [(4.0, 3, "d"), (6.0, 4, "e")], [(9.0, 5, "f")]]
    assert [x[2] for x in in_time_order(batches)] == ["a", "d", "b", "e", "c", "f"]


def test_topic_for_each_event_family() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert topic_for(offered(at)) == topics.CALLS
    assert topic_for(TicketCreated(event_id="t", ticket_id="t", occurred_at=at, category="c")) == topics.TICKETS
    assert topic_for(SurveySubmitted(event_id="s", survey_id="s", occurred_at=at)) == topics.SURVEYS
    probe = ServiceProbe(event_id="p", service="web", occurred_at=at, ok=True, interval_seconds=60)
    assert topic_for(probe) == topics.AVAILABILITY


def test_compute_source_equals_compute_on_the_adapter_events() -> None:
    result = runner.invoke(app, ["compute", "-c", str(AB_CONTRACT), "--source", "anonymous-bank",
                                 *map(str, AB_FILES)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    events = ADAPTERS["anonymous-bank"].read(AB_FILES)
    expected = [r.to_dict() for r in compute(events, compile_terms([load_contract(AB_CONTRACT)]))
                if isinstance(r, WindowResult)]
    assert rows == expected and len(rows) >= 8
    assert "skipped 1: PHANTOM rows" in result.stderr


def test_compute_takes_exactly_one_input(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("")
    both = runner.invoke(app, ["compute", "-c", str(AB_CONTRACT), "--events", str(events), "--source",
                               "anonymous-bank", str(AB_FILES[0])])
    neither = runner.invoke(app, ["compute", "-c", str(AB_CONTRACT)])
    files_without_source = runner.invoke(app, ["compute", "-c", str(AB_CONTRACT), "--events", str(events),
                                               str(AB_FILES[0])])
    for result in (both, neither, files_without_source):
        assert result.exit_code == 2 and "give either --events" in result.stderr
    wrong = runner.invoke(app, ["compute", "-c", str(AB_CONTRACT), "--source", "anonymous-bank",
                                str(FIXTURES / "incidents.csv")])
    assert wrong.exit_code == 2 and "not an Anonymous Bank call file" in wrong.stderr


def replay_app() -> typer.Typer:
    """`replay_command` mounted as `cckpi replay` (the lead registers it in streams/cli/main.py)."""
    replay = typer.Typer(rich_markup_mode="markdown")
    replay.command("replay")(replay_command)
    replay.callback()(lambda: None)
    return replay


def test_replay_help_and_bad_source() -> None:
    result = runner.invoke(replay_app(), ["replay", "--help"])
    assert result.exit_code == 0 and "Examples" in result.stdout and "--as-fast-as-possible" in result.stdout
    bad = runner.invoke(replay_app(), ["replay", "--source", "nope", str(AB_FILES[0])])
    assert bad.exit_code == 2 and "unknown source 'nope'" in bad.stderr
