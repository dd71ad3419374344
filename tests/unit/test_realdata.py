"""The real-data helper: `$CCKPI_DATA_DIR` or `../shared/data` beside the repository; a missing file skips the test
on a developer's machine and fails it under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realdata import DATA_ENV, data_dir, real_data

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_shared_data_beside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_dir() == ROOT.parent / "shared" / "data"


def test_the_environment_variable_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "servicenow-incidents").mkdir()
    (tmp_path / "servicenow-incidents" / "log.csv").write_text("number\n", encoding="utf-8")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    monkeypatch.setenv("CI", "true")
    assert real_data("servicenow-incidents", "log.csv") == tmp_path / "servicenow-incidents" / "log.csv"


@pytest.mark.parametrize("ci", ["", "false"])
def test_missing_data_skips_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "absent"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real_data("anonymous-bank-1999", "01_January.txt")


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_missing_data_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        real_data("anonymous-bank-1999")
