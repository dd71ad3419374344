"""Contract files: examples validate; mistakes are reported with file, line and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.contracts import ContractError, load_contract, load_contracts, parse_contract
from tests.helpers import CONTRACT

EXAMPLES = sorted((Path(__file__).parents[2] / "contracts" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(path: Path) -> None:
    contract = load_contract(path)
    assert contract.terms


def problems(text: str) -> list[str]:
    with pytest.raises(ContractError) as info:
        parse_contract(text, "c.yaml")
    return [str(p) for p in info.value.problems]


def test_threshold_out_of_range_points_at_its_line() -> None:
    bad = CONTRACT.replace("threshold: 0.8", "threshold: 80")
    [problem] = problems(bad)
    line = bad.splitlines().index("    threshold: 80") + 1
    expected = "terms[0].threshold: 80 is outside 0..1 for answer_rate (ratio) (write 0.9, not 90)"
    assert problem == f"c.yaml:{line}: {expected}"


def test_every_problem_is_listed() -> None:
    bad = CONTRACT.replace("Asia/Shanghai", "Mars/Olympus").replace("kpi: answer_rate", "kpi: happiness")
    found = problems(bad)
    assert any(p.startswith("c.yaml:4: timezone: unknown timezone") for p in found)
    assert any("terms[0].kpi" in p and "answer_rate" in p for p in found)


def test_window_must_tile_a_day() -> None:
    [problem] = problems(CONTRACT.replace("window: 15m", "window: 7m"))
    assert "terms[0].window" in problem and "divide a day" in problem


def test_unknown_field_is_rejected() -> None:
    [problem] = problems(CONTRACT.replace("min_volume: 3", "min_volume: 3\n    treshold: 0.9"))
    assert "terms[0].treshold" in problem


def test_duplicate_term_ids() -> None:
    term = CONTRACT.split("terms:\n")[1]
    assert any("appears twice" in p for p in problems(CONTRACT + term))


def test_yaml_syntax_error_has_a_line() -> None:
    [problem] = problems("id: x\nname: [unclosed\n")
    assert problem.startswith("c.yaml:3:") or problem.startswith("c.yaml:2:")


def test_two_files_with_one_id(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(CONTRACT)
    with pytest.raises(ContractError, match="used by two files"):
        load_contracts([tmp_path / "a.yaml", tmp_path / "b.yaml"])


CAL = """
calendar:
  holidays: CN
  working_hours: {mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]],
                  thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]]}
"""


def with_term(extra_term: str, head: str = CONTRACT) -> str:
    return head + extra_term


@pytest.mark.parametrize(("term", "expected"), [
    ("  - {id: x, kpi: answer_rate, threshold: 0.9, window: 1h, within: {working_minutes: 15}}\n",
     "terms[1].within: within does not apply to answer_rate (a calls KPI)"),
    ("  - {id: x, kpi: service_level, threshold: 0.8, window: 1h}\n",
     "terms[1]: service_level needs answer_within_seconds"),
    ("  - {id: x, kpi: answer_rate, threshold: 0.9, warning: 0.85, window: 1h}\n",
     "terms[1].warning: the warning level must be above the threshold 0.9"),
    ("  - {id: x, kpi: avg_talk_time, threshold: 300, warning: 320, window: 1h}\n",
     "terms[1].warning: the warning level must be below the threshold 300"),
    ("  - {id: x, kpi: resolution_within, threshold: 0.95, window: 1h, within: {days: 3}}\n",
     "terms[1].window: a 1h window is too short for resolution_within: at least 1 day"),
    ("  - {id: x, kpi: answer_rate, threshold: 0.9, window: 1h, measured_during: service_hours}\n",
     "terms[1].measured_during: service_hours needs a service_hours or calendar section"),
    ("  - {id: x, kpi: first_response_within, threshold: 0.9, window: day, within: {working_minutes: 15}}\n",
     "terms[1].within: working time needs a calendar section"),
    ("  - {id: x, kpi: answer_rate, threshold: 0.9, window: 1h, queues: [q3]}\n",
     "terms[1].queues: q3 not in the contract scope's queues"),
    ("  - {id: x, kpi: answer_rate, threshold: 0.8, window: 15m, queues: [q2]}\n",
     "terms[1].id: term 'x' overlaps 'ar': same KPI, window and options on q2"),
    ("  - {id: x, kpi: nps, threshold: 120, window: quarter}\n",
     "terms[1].threshold: 120 is outside -100..100 for nps (score)"),
    ("  - {id: x, kpi: first_response_within, threshold: 0.9, window: day, within: {minutes: 15, hours: 1}}\n",
     "terms[1].within: give exactly one of"),
])
def test_cross_field_rules_name_the_field(term: str, expected: str) -> None:
    text = with_term(term)
    found = problems(text)
    assert any(expected in p for p in found), found
    line = len(text.splitlines())  # the new term is the last line
    assert all(p.startswith(f"c.yaml:{line}:") for p in found if "terms[1]" in p), found


def test_disjoint_queues_do_not_overlap() -> None:
    text = CONTRACT.replace("scope: {queues: [q1, q2]}", "scope: {queues: [q1, q2]}").replace(
        "    min_volume: 3\n", "    min_volume: 3\n    queues: [q1]\n")
    parse_contract(with_term("  - {id: x, kpi: answer_rate, threshold: 0.8, window: 15m, queues: [q2]}\n", text))


def test_calendar_must_know_every_day_of_the_period() -> None:
    head = CONTRACT.replace("scope:", "effective_from: 2026-07-01\neffective_until: 2027-06-30\nscope:")
    [problem] = problems(head + CAL)
    assert "calendar: cannot classify 2027-01-01" in problem and "add overrides for 2027" in problem
    known = head + CAL + "  known_until: 2027-06-30\n"
    assert parse_contract(known).calendar is not None


def test_calendar_takes_the_contract_timezone() -> None:
    contract = parse_contract(CONTRACT + CAL)
    assert contract.calendar is not None and contract.calendar.timezone == "Asia/Shanghai"
