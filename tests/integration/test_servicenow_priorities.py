"""The ServiceNow incident subset gives resolution KPIs per priority (and first response per week)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from tests.realdata import real_data

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "contracts" / "examples" / "servicenow-incidents.yaml"

pytestmark = pytest.mark.integration


def test_resolution_per_priority() -> None:
    data = real_data("servicenow-incidents", "incident_event_log_subset.csv")
    result = CliRunner().invoke(app, ["compute", "-c", str(CONTRACT), "--source", "servicenow-incidents", str(data)])
    assert result.exit_code == 0, result.output[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    final = {r["key"]: r for r in records}.values()

    with data.open(newline="") as fh:
        first_rows = {}
        for row in csv.DictReader(fh):
            first_rows.setdefault(row["number"], row)
    by_priority = Counter(row["priority"] for row in first_rows.values())
    terms = {"1 - Critical": "resolution-p1", "2 - High": "resolution-p2", "3 - Moderate": "resolution-p3",
             "4 - Low": "resolution-p4"}
    for priority, term in terms.items():
        windows = [r for r in final if r["term"] == term]
        assert sum(r["denominator"] for r in windows) == by_priority[priority], term
        assert all(0 <= r["numerator"] <= r["denominator"] and r["kpi"] == "resolution_within" for r in windows)
    p3 = {r["window_start"][:7]: r for r in final if r["term"] == "resolution-p3"}
    assert set(p3) == {"2016-02", "2016-03"} and all(r["status"] in ("met", "breached") for r in p3.values())
    weekly = [r for r in final if r["term"] == "first-response-4wh"]
    assert sum(r["denominator"] for r in weekly) == len(first_rows)
