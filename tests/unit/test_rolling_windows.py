"""Rolling windows: the span of `rolling` ending at each step boundary, judged at each step like a tumbling window
(closed, published, revised by late data), the same in `cckpi compute` and in the stream."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from typer.testing import CliRunner

from streams.app.emitter import RawMessage
from streams.cli.main import app
from streams.contracts import ContractError, parse_contract
from streams.contracts.model import RollingWindow
from streams.core import WindowResult, compile_terms, compute
from streams.core.windows import WindowSpec
from streams.kafka_io import topics
from streams.models import TicketCreated, TicketUpdated, encode_event
from tests.helpers import DAY, abandoned, answered, at
from tests.unit.test_low_volume import run, shell_of
from tests.unit.test_tickets_surveys_availability import ev

TZ = ZoneInfo("Asia/Shanghai")
D = timedelta(days=1)
ROLLING = """
id: t
name: test
timezone: Asia/Shanghai
scope: {queues: [q1]}
terms:
  - id: ar
    kpi: answer_rate
    threshold: 0.7
    window: {rolling: 2d, step: 1d}
    retention: 3d
    min_volume: 3
"""


def three_days() -> list:
    """Day 1 (Nov 23): 3 answered, 1 abandoned; day 2: 1 answered, 3 abandoned; day 3: 4 answered."""
    return ([answered(at("10:00")) for _ in range(3)] + [abandoned(at("11:00"))]
            + [answered(at("10:00") + D)] + [abandoned(at("11:00") + D) for _ in range(3)]
            + [answered(at("10:00") + 2 * D) for _ in range(4)])


def windows(outputs: list) -> list[tuple[str, str, int, int, str, int]]:
    return [(w.window_start[:10], w.window_end[:10], int(w.numerator), int(w.denominator), w.status, w.revision)
            for w in outputs if isinstance(w, WindowResult)]


def test_a_contribution_belongs_to_every_rolling_window_covering_it() -> None:
    spec = WindowSpec.of(RollingWindow(rolling="7d", step="1d"), TZ)
    midnight = DAY.timestamp()  # Nov 23 00:00: in the 7 spans ending Nov 24 .. Nov 30, not in the one ending then
    spans = spec.covering(midnight)
    assert [(spec.iso(s)[:10], spec.iso(e)[:10]) for s, e in spans] == [
        (f"2026-11-{d - 7}", f"2026-11-{d}") for d in range(24, 31)]
    assert len(spec.covering(midnight - 1)) == 7 and spec.covering(midnight - 1)[0][1] == midnight
    hourly = WindowSpec.of(RollingWindow(rolling="1d", step="1h"), TZ)
    assert len(hourly.covering(midnight + 1800)) == 24
    assert WindowSpec.parse("15m", TZ).covering(midnight + 60) == [WindowSpec.parse("15m", TZ).bounds(midnight + 60)]


def test_compute_judges_each_daily_step_over_the_two_days_before_it() -> None:
    out = compute(three_days(), compile_terms([parse_contract(ROLLING)]))
    # spans ending each midnight: [22, 24) day 1 = 3/4; [23, 25) 4/8; [24, 26) 5/8; [25, 27) day 3 = 4/4
    assert windows(out) == [
        ("2026-11-22", "2026-11-24", 3, 4, "met", 0), ("2026-11-23", "2026-11-25", 4, 8, "breached", 0),
        ("2026-11-24", "2026-11-26", 5, 8, "breached", 0), ("2026-11-25", "2026-11-27", 4, 4, "met", 0)]


def test_a_late_call_revises_every_closed_rolling_window_holding_it() -> None:
    late = answered(at("12:00") + D)  # day 2, after day 3's calls closed the span ending Nov 25
    out = compute([*three_days(), late], compile_terms([parse_contract(ROLLING)]))
    assert windows(out) == [
        ("2026-11-22", "2026-11-24", 3, 4, "met", 0), ("2026-11-23", "2026-11-25", 4, 8, "breached", 0),
        ("2026-11-23", "2026-11-25", 5, 9, "breached", 1),  # revised: 5/9 = 0.556
        ("2026-11-24", "2026-11-26", 6, 9, "breached", 0),  # still open: counted in it, 6/9 = 0.667
        ("2026-11-25", "2026-11-27", 4, 4, "met", 0)]


def test_compute_and_the_stream_give_the_same_rolling_windows(tmp_path: Path) -> None:
    events = [*three_days(), answered(at("12:00") + D), answered(at("09:00") + 5 * D)]
    (tmp_path / "c.yaml").write_text(ROLLING)
    (tmp_path / "e.jsonl").write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    result = CliRunner().invoke(app, ["compute", "-c", str(tmp_path / "c.yaml"), "--events", str(tmp_path / "e.jsonl")])
    assert result.exit_code == 0, result.output
    batch = [orjson.loads(line) for line in result.stdout.splitlines()]
    closed = sorted((w["key"], w["revision"], w["numerator"], w["denominator"], w["status"]) for w in batch
                    if w["closed_by"] != "end_of_input")
    assert len(closed) == 5 and ("t/ar/q1/2026-11-23T00:00:00+08:00", 1, 5, 9, "breached") in closed

    terms = compile_terms([parse_contract(ROLLING)])
    msgs = [RawMessage(b"q1", encode_event(e), topics.CALLS, 0, i) for i, e in enumerate(events)]
    table: dict[bytes, bytes] = {}
    streamed = run(shell_of(terms), table, msgs[:6])
    streamed += run(shell_of(terms), table, msgs[6:])  # another worker takes over mid-way
    got = sorted((r["key"], r["revision"], r["numerator"], r["denominator"], r["status"]) for r in streamed
                 if r["out"] == topics.KPI_WINDOWS)
    assert got == closed


@pytest.mark.parametrize(("window", "problem"), [
    ("{rolling: 7d, step: 7h}", "step '7h' must divide a day evenly"),
    ("{rolling: 36h, step: 1d}", "must be a whole number of steps of 1d"),
    ("{rolling: 90d, step: 1h}", "2160 steps of 1h: at most 1000"),
])
def test_rolling_windows_the_engine_cannot_step_are_refused_at_their_field(window: str, problem: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_contract(ROLLING.replace("{rolling: 2d, step: 1d}", window), "c.yaml")
    [found] = caught.value.problems
    assert (found.file, found.line, found.path) == ("c.yaml", 10, "terms[0].window") and problem in found.message


def test_a_rolling_ticket_term_counts_each_ticket_once_per_window_and_waits_for_open_ones() -> None:
    text = ROLLING.replace("scope: {queues: [q1]}", "scope: {categories: [request]}").replace(
        "kpi: answer_rate", "kpi: solved_or_updated_within\n    within: {hours: 4}").replace("min_volume: 3", "")
    events = [ev(TicketCreated, at("10:00"), ticket_id="a", category="request"),
              ev(TicketUpdated, at("11:00"), ticket_id="a"),  # in time
              ev(TicketCreated, at("10:00") + D, ticket_id="b", category="request"),  # missed at 14:00
              ev(TicketCreated, at("10:00") + 3 * D, ticket_id="c", category="request")]  # moves the clock on
    found = windows(compute(events[:3], compile_terms([parse_contract(text)])))
    assert [w[:4] for w in found] == [("2026-11-22", "2026-11-24", 1, 1)]  # the two spans holding b wait for it
    closed = [w[:5] for w in windows(compute(events, compile_terms([parse_contract(text)]))) if w[1] <= "2026-11-26"]
    assert closed == [("2026-11-22", "2026-11-24", 1, 1, "met"), ("2026-11-23", "2026-11-25", 1, 2, "breached"),
                      ("2026-11-24", "2026-11-26", 0, 1, "breached")]
