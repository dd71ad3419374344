"""The real data sets for the tests that need them, or a skip (on a machine without them) or a failure (under CI).

The folder is `$CCKPI_DATA_DIR`, by default `../shared/data` relative to the repository root (see README, "Data
attribution"). A developer without the data gets those tests skipped; under CI (`CI=true`), where the data is always
laid beside the repository, a missing file fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.workload import DATA_ENV, data_dir

__all__ = ["DATA_ENV", "data_dir", "in_ci", "real_data"]


def in_ci() -> bool:
    """Whether this run is CI's (`CI=true`, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def real_data(*parts: str) -> Path:
    """The file or folder `parts` of the real data folder; skips the test when it is absent, fails it under CI."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        message = (f"real data {path} is absent (set {DATA_ENV} to the folder holding anonymous-bank-1999/, "
                   f"asterisk-queue-log/ and servicenow-incidents/)")
        if in_ci():
            pytest.fail(f"{message}; CI must have it", pytrace=False)
        pytest.skip(message)
    return path
