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


def laughs(levels: int) -> str:
    """A billion-laughs document: each level is nine aliases of the one before (9**levels strings)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget() -> None:
    # aliases add ~8,300 nodes up to l3; the first alias of l4 (line 5) adds ~7,400 more, past the 10,000 allowed
    # (expanded, these 9 levels would be 9**9 = 387 million strings)
    [problem] = problems(laughs(9))
    assert problem.startswith("c.yaml:5: refused: aliases expand the document by more than 10,000 nodes")


def test_recursive_alias_and_deep_nesting_are_refused() -> None:
    [recursive] = problems("id: x\nloop: &a [1, *a]\n")
    assert recursive.startswith("c.yaml:2: refused: alias *a refers to an anchor that is not complete")
    [deep] = problems("id: x\nname: " + "[" * 100 + "]" * 100 + "\n")
    assert deep.startswith("c.yaml:2: refused: nested deeper than 64 levels")


def test_anchors_and_merge_keys_within_the_budget_are_accepted() -> None:
    text = CONTRACT.replace("  - id: ar\n", "  - &base\n    id: ar\n") + "  - {<<: *base, id: ar2, queues: [q2]}\n"
    text = text.replace("    min_volume: 3\n", "    min_volume: 3\n    queues: [q1]\n", 1)
    contract = parse_contract(text)
    assert [(t.id, t.threshold, t.queues) for t in contract.terms] == [("ar", 0.8, ["q1"]), ("ar2", 0.8, ["q2"])]


def test_oversized_unreadable_and_binary_files_are_refused_with_a_line(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(CONTRACT.encode() + b"#" * (1 << 20) + b"\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(CONTRACT.encode() + b"name2: \xff\xfe\n")
    found = []
    for path in (big, binary, tmp_path / "missing.yaml", tmp_path):
        with pytest.raises(ContractError) as info:
            load_contract(path)
        found += [str(p) for p in info.value.problems]
    lines = len(CONTRACT.splitlines()) + 1
    assert found == [f"{big}:1: refused: larger than 1 MiB", f"{binary}:{lines}: not UTF-8 text",
                     f"{tmp_path / 'missing.yaml'}:1: cannot read: No such file or directory",
                     f"{tmp_path}:1: cannot read: Is a directory"]


def test_an_integer_too_long_to_convert_is_a_problem_not_a_crash() -> None:
    [problem] = problems(CONTRACT.replace("threshold: 0.8", "threshold: " + "9" * 5000))
    assert problem.startswith("c.yaml:1: not a usable YAML document")


def test_validate_refuses_a_bomb_with_file_line_and_exit_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streams.cli.main import app

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs(12))
    result = CliRunner().invoke(app, ["contracts", "validate", str(bomb)])
    assert result.exit_code == 1 and result.stderr == f"{bomb}:5: refused: aliases expand the document by more " \
        "than 10,000 nodes (an alias bomb?): write the values out\n"
