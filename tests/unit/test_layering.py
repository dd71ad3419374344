"""The package's layering: the import-linter contracts of pyproject.toml hold (the same check as `make lint`), so a
test run alone also catches an import that points up or sideways or closes a cycle."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter import api  # configures import-linter (its readers and contract types), as its CLI does
from importlinter.application.use_cases import lint_imports

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def test_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    assert api.read_configuration(str(PYPROJECT))["contracts_options"], "no contracts in pyproject.toml"
    kept = lint_imports(str(PYPROJECT), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept and " 0 broken." in report, report
