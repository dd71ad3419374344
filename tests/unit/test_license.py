"""The package's licence is declared in pyproject.toml and shipped as the exact Apache License 2.0 text."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""SHA-256 of the standard text as the Apache Software Foundation publishes it (LICENSE-2.0.txt)."""


def test_license_file_is_the_standard_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in text
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256


def test_pyproject_declares_the_license_and_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert all((ROOT / name).is_file() for name in project["license-files"])
