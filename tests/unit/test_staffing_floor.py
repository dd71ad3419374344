"""The staffing floor of seed 000 (「确保客服团队工作时间内保持在线」): the share of a queue's measured time with at
least `min_agents` agents logged in (or ready), timed exactly between agent events, clipped to service hours,
carried across windows and restarts; batch and stream alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.app.shell import StreamShell
from streams.contracts import parse_contract
from streams.contracts.loader import ContractError
from streams.core import Processor, WindowResult, compile_terms, compute
from streams.core.staffing import StaffingBook
from streams.core.state import ScopeState
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import AgentLoggedIn, AgentLoggedOut, AgentNotReady, AgentReady, CallAnswered
from streams.sinks import Metrics
from tests.helpers import DAY, at

HOUR = 3600
ROOT = Path(__file__).parents[2]
CONTRACT = """
id: staff
name: staffing
timezone: Asia/Shanghai
calendar:
  holidays: none
  working_hours: {mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]]}
scope: {queues: [q1]}
terms:
  - {id: ready-2h, kpi: staffing_floor, min_agents: 3, count: ready, threshold: 0.95, window: 2h}
  - {id: online-2h, kpi: staffing_floor, min_agents: 3, threshold: 0.95, window: 2h}
  - {id: hours-day, kpi: staffing_floor, min_agents: 2, threshold: 1.0, window: day, measured_during: service_hours}
  - {id: always-day, kpi: staffing_floor, min_agents: 2, threshold: 1.0, window: day}
"""
_n = 0


def agent(cls: type, when: datetime, who: str, queue: str = "q1") -> object:
    global _n  # test-only counter for unique ids
    _n += 1
    return cls(event_id=f"s{_n}", occurred_at=when, agent_id=who, queue=queue)


def call(when: datetime) -> CallAnswered:
    global _n  # test-only counter for unique ids
    _n += 1
    return CallAnswered(event_id=f"s{_n}", call_id=f"c{_n}", queue="q1", occurred_at=when, wait_seconds=5)


def three_ready_one_break() -> list:
    """Three agents ready from 08:00; c on a 10-minute break 08:30-08:40; at 11:00 one more logs in."""
    events = [agent(cls, at("08:00"), who) for who in "abc" for cls in (AgentLoggedIn, AgentReady)]
    return [*events, agent(AgentNotReady, at("08:30"), "c"), agent(AgentReady, at("08:40"), "c"),
            agent(AgentLoggedIn, at("11:00"), "d")]


def results(events: list, text: str = CONTRACT) -> list[WindowResult]:
    return [r for r in compute(events, compile_terms([parse_contract(text)])) if isinstance(r, WindowResult)]


def window(found: list[WindowResult], term: str, start: str) -> tuple[float, float, str, str]:
    [r] = [r for r in found if r.term == term and r.window_start.startswith(f"2026-11-23T{start}")]
    return r.numerator, r.denominator, r.status, r.closed_by


def test_ten_minutes_not_ready_of_three_required_is_110_of_120_minutes() -> None:
    found = results([*three_ready_one_break(), call(at("12:05"))])  # the call's clock closes 08:00-10:00
    assert window(found, "ready-2h", "08:00") == (110 * 60, 120 * 60, "breached", "watermark")  # 91.7% < 95%
    assert window(found, "online-2h", "08:00") == (120 * 60, 120 * 60, "met", "watermark")  # c stayed logged in
    assert window(found, "ready-2h", "10:00") == (2 * HOUR, 2 * HOUR, "met", "watermark")  # carried, no event


def test_service_hours_clip_the_measured_time_and_lunch_counts_short() -> None:
    events = [agent(AgentLoggedIn, at("08:00"), "a"), agent(AgentLoggedIn, at("08:00"), "b"),
              agent(AgentLoggedOut, at("12:00"), "b"), agent(AgentLoggedIn, at("13:00"), "b"),
              agent(AgentLoggedOut, at("19:00"), "a"), agent(AgentLoggedOut, at("19:00"), "b"),
              call(DAY.replace(hour=0) + timedelta(days=1, hours=9))]  # the next day 09:00 closes the day
    found = results(events)
    assert window(found, "hours-day", "00:00") == (8 * HOUR, 9 * HOUR, "breached", "watermark")  # 09:00-18:00
    # always: measured from the first agent event (08:00) to midnight; staffed 08-12 and 13-19
    assert window(found, "always-day", "00:00") == (10 * HOUR, 16 * HOUR, "breached", "watermark")


def test_nobody_logged_in_counts_as_understaffed_until_the_window_end() -> None:
    events = [agent(AgentLoggedIn, at("09:00"), "a"), agent(AgentLoggedIn, at("09:00"), "b"),
              agent(AgentLoggedOut, at("09:30"), "a"), agent(AgentLoggedOut, at("09:30"), "b")]
    found = results(events)  # the input ends: the open time counts up to the end of the window holding it
    assert window(found, "always-day", "00:00") == (30 * 60, 15 * HOUR, "breached", "end_of_input")
    assert window(found, "hours-day", "00:00") == (30 * 60, 9 * HOUR, "breached", "end_of_input")


def test_the_bank_team_example_judges_its_working_minutes() -> None:
    text = (ROOT / "contracts" / "examples" / "bank-team.yaml").read_text(encoding="utf-8")
    crew = [agent(AgentLoggedIn, at("09:00"), f"a{i}", "retail") for i in range(12)]
    found = results([*crew, agent(AgentLoggedOut, at("17:00"), "a0", "retail")], text)
    [month] = [r for r in found if r.term == "staffing-floor-month"]
    # from Mon 23 Nov 09:00: 6 CN working days (23-27, 30) of 9 h measured; 12 online only 09:00-17:00 on the 23rd
    assert (month.scope, month.numerator, month.denominator, month.status) == ("retail", 8 * HOUR, 54 * HOUR,
                                                                                "breached")


def test_contract_checks_of_the_staffing_fields() -> None:
    text = CONTRACT.replace("count: ready,", "count: ready, aggregate: pooled,").replace(
        "{id: online-2h, kpi: staffing_floor, min_agents: 3,", "{id: online-2h, kpi: staffing_floor,").replace(
        "kpi: staffing_floor, min_agents: 2, threshold: 1.0, window: day}", "kpi: answer_rate, min_agents: 2, "
        "threshold: 1.0, window: day}")
    with pytest.raises(ContractError) as error:
        parse_contract(text)
    assert str(error.value).splitlines() == [
        "<contract>:10: terms[0].aggregate: aggregate does not apply to staffing_floor (a calls KPI)",
        "<contract>:11: terms[1]: staffing_floor needs min_agents",
        "<contract>:13: terms[3].min_agents: min_agents does not apply to answer_rate (a calls KPI)"]


def test_the_agents_persist_in_the_scope_state_and_old_states_still_load() -> None:
    state = ScopeState(staffing=StaffingBook(1.5e9, {"a": True, "b": False}))
    again = ScopeState.from_bytes(state.to_bytes())
    assert again.staffing == StaffingBook(1.5e9, {"a": True, "b": False})
    assert (again.staffing.counted("ready"), again.staffing.counted("logged_in")) == (1, 2)
    old = orjson.loads(ScopeState().to_bytes())
    assert "sf" not in old and ScopeState.from_bytes(orjson.dumps(old)).staffing is None


# --------------------------------------------------------------------------- the stream gives the same numbers


def messages(events: list, first: int = 0) -> list[RawMessage]:
    return [RawMessage(b"q1", encode_event(e), topics.CALLS, 0, first + i) for i, e in enumerate(events)]


def stream(events: list, restart_at: int | None = None, wall: datetime | None = None) -> list[dict]:
    """The events through the stream shell, restarted from its stored state after `restart_at` of them; the idle
    timer at `wall`."""
    processor = Processor(compile_terms([parse_contract(CONTRACT)]))
    table: dict[bytes, bytes] = {}
    sends = []
    cut = len(events) if restart_at is None else restart_at
    for part, first in ((events[:cut], 0), (events[cut:], cut)):
        if not part:
            continue
        shell = StreamShell(processor, Metrics(), idle_after=10)  # a new worker: only the table survives
        shell.warm((topics.CALLS, 0), table.items())
        result = shell.on_batch(messages(part, first), table, wall_now=part[-1].occurred_at.timestamp())
        sends += result.sends
        table.update({key: value for _source, key, value in result.stored if value is not None})
    if wall is not None:
        sends += shell.on_tick((topics.CALLS, 0), [], wall_now=wall.timestamp()).sends
    return [orjson.loads(v) for topic, _k, v in sends if topic == topics.KPI_WINDOWS]


def test_stream_equals_batch_across_a_restart() -> None:
    events = [*three_ready_one_break(), agent(AgentLoggedOut, at("12:10"), "a"), agent(AgentNotReady, at("13:00"), "b"),
              call(at("15:00")), agent(AgentLoggedOut, at("17:30"), "b"), call(DAY + timedelta(days=1, hours=10))]
    expected = sorted((r.key, r.numerator, r.denominator, r.status) for r in results(events)
                      if r.closed_by != "end_of_input")
    for restart in (None, 8, 10):
        got = sorted((r["key"], r["numerator"], r["denominator"], r["status"]) for r in stream(events, restart))
        assert got == expected, restart
    found = results(events)
    assert window(found, "ready-2h", "08:00")[:2] == (110 * 60, 2 * HOUR)
    # 3 ready required: a logged out at 12:10, b not ready from 13:00 (b, c, d ready in between: 10 minutes)
    assert window(found, "ready-2h", "12:00")[:2] == (10 * 60, 2 * HOUR)
    # 3 logged in required: b out at 17:30 leaves c and d
    assert window(found, "online-2h", "16:00")[:2] == (90 * 60, 2 * HOUR)


def test_the_idle_clock_closes_a_window_with_the_agents_still_logged_in() -> None:
    events = [agent(AgentLoggedIn, at("08:30"), who) for who in "abc"]
    found = [r for r in stream(events, wall=at("10:30")) if r["term"] == "online-2h"]
    assert [(r["window_start"][11:16], r["numerator"], r["denominator"], r["closed_by"]) for r in found] == [
        ("08:00", 90 * 60, 90 * 60, "idle")]
