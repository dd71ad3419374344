"""A statement of one real Anonymous Bank month has exactly the numbers of `cckpi compute` for that month: every
window (value, sums, status), every term's period sums, the breaches and the penalty total; the HTML shows them."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import load_contract
from tests.realdata import real_data

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "contracts" / "examples" / "anonymous-bank.yaml"
PERIOD = "1999-09"

pytestmark = pytest.mark.integration


class _Matrix(HTMLParser):
    """(text, status) of every cell of the statement's window tables (`table.matrix`, `td.num <status>`)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []
        self._in_matrix = False
        self._status: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table":
            self._in_matrix = "matrix" in classes
        elif tag == "td" and self._in_matrix and "num" in classes:
            self._status, self._text = next(c for c in classes if c != "num"), ""

    def handle_data(self, data: str) -> None:
        if self._status is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._status is not None:
            self.cells.append((self._text, self._status))
            self._status = None


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _shown(value: float | None, unit: str) -> str:
    """How a reader sees the value: percent with two decimals, seconds with one."""
    if value is None:
        return "-"
    return f"{value * 100:.2f}%" if unit == "ratio" else f"{value:.1f} s"


def test_statement_of_a_month_equals_compute(tmp_path: Path) -> None:
    month = real_data("anonymous-bank-1999", "09_September.txt")
    runner = CliRunner()
    computed = runner.invoke(app, ["compute", "-c", str(CONTRACT), "--source", "anonymous-bank", str(month)])
    assert computed.exit_code == 0, computed.output
    expected: dict[str, dict] = {}
    for line in computed.stdout.splitlines():
        if line.startswith("{"):
            r = orjson.loads(line)
            if r["window_start"].startswith(PERIOD) and r["revision"] >= expected.get(r["key"], {}).get("revision", -1):
                expected[r["key"]] = r
    assert len(expected) > 800 and {r["status"] for r in expected.values()} == {"met", "breached",
                                                                                  "insufficient_volume"}

    out = tmp_path / "statement"
    result = runner.invoke(app, ["report", "-c", str(CONTRACT), "--period", PERIOD, "--source", "anonymous-bank",
                                 str(month), "--out", str(out)])
    assert result.exit_code == 0, result.output

    # every window, parsed back from windows.csv
    windows = {r["key"]: r for r in _csv(out / "windows.csv")}
    assert windows.keys() == expected.keys()
    for key, e in expected.items():
        w = windows[key]
        got = (None if w["value"] == "" else float(w["value"]), float(w["numerator"]), float(w["denominator"]),
               float(w["threshold"]), w["status"], int(w["revision"]), w["window_end"])
        assert got == (e["value"], e["numerator"], e["denominator"], e["threshold"], e["status"], e["revision"],
                       e["window_end"]), key

    # every term and queue: window counts by status and the period sums
    contract = load_contract(CONTRACT)
    terms = {(r["term"], r["scope"]): r for r in _csv(out / "terms.csv")}
    assert {t for t, _ in terms} == {t.id for t in contract.terms}
    for (term, scope), row in terms.items():
        mine = [e for e in expected.values() if e["term"] == term and e["scope"] == scope]
        assert int(row["windows"]) == len(mine)
        for status, column in (("met", "windows_met"), ("breached", "windows_breached"),
                               ("insufficient_volume", "windows_insufficient_volume")):
            assert int(row[column]) == sum(e["status"] == status for e in mine), (term, scope, status)
        num, den = sum(e["numerator"] for e in mine), sum(e["denominator"] for e in mine)
        assert (float(row["period_numerator"]), float(row["period_denominator"])) == (num, den)
        if den:
            assert float(row["period_value"]) == num / den
    month_term = [e for e in expected.values() if e["term"] == "answer-rate-month"]
    for e in month_term:  # a month term's period value is its window's value
        assert float(terms[("answer-rate-month", e["scope"])]["period_value"]) == e["value"]

    # breaches and the penalty total
    breached = {k for k, e in expected.items() if e["status"] == "breached"}
    assert {r["breach_id"] for r in _csv(out / "breaches.csv")} == breached
    penalties = {t.id: t.penalty for t in contract.terms if t.penalty}
    total = sum((penalties[expected[k]["term"]].amount for k in breached if expected[k]["term"] in penalties),
                Decimal(0))
    assert total > 0
    [totals] = _csv(out / "totals.csv")
    assert (Decimal(totals["amount"]), totals["currency"]) == (total, "ILS")
    assert int(totals["breaches"]) == sum(expected[k]["term"] in penalties for k in breached)

    # the HTML shows the same numbers: each window's value and status, the breaches and the total
    page = (out / "statement.html").read_text(encoding="utf-8")
    matrix = _Matrix()
    matrix.feed(page)
    assert Counter(matrix.cells) == Counter((_shown(e["value"], e["unit"]) + ("" if not e["revision"] else
                                             f" r{e['revision']}"), e["status"]) for e in expected.values())
    assert f"{total:,.2f} ILS" in page  # to the currency's minor unit
    for k in breached:
        assert _shown(expected[k]["value"], expected[k]["unit"]) in page

    # the digest names the month file's sha256
    inputs = {r["name"]: r for r in _csv(out / "inputs.csv")}
    assert inputs[month.name]["sha256"] == hashlib.sha256(month.read_bytes()).hexdigest()
    assert inputs["(all inputs)"]["sha256"] in page
