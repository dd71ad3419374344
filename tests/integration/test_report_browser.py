"""`cckpi report --pdf --png`: headless Chromium prints the statement page to PDF and takes its screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.models import encode_event
from tests.unit.test_report import PENALISED, october_events

pytestmark = pytest.mark.integration  # `make test` installs Chromium (`make browser`)


def test_pdf_and_screenshot(tmp_path: Path) -> None:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)
    events = tmp_path / "calls.jsonl"
    events.write_bytes(b"".join(encode_event(e) + b"\n" for e in october_events()))
    png = tmp_path / "shot" / "statement.png"
    result = CliRunner().invoke(app, ["report", "-c", str(contract), "--period", "2026-10", "--events", str(events),
                                      "--out", str(tmp_path / "out"), "--pdf", "--png", str(png)])
    assert result.exit_code == 0, result.output
    pdf = (tmp_path / "out" / "statement.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    head = png.read_bytes()[:24]
    assert head.startswith(b"\x89PNG\r\n\x1a\n")
    assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == (1280, 2000)
