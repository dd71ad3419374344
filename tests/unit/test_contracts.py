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
    assert problem.startswith(f"c.yaml:{line}: terms[0].threshold: 80 is not a ratio in 0..1")


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
