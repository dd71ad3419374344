"""One reader of the published records for `report`, `ledger` and `grafana annotate`: a records file is checked
the same way for all (a line that is not a breach record is one line naming it, exit 2), the batch gives the
breaches the stream publishes, and the ledger's period view and escalation records live outside the CLI."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.core.penalties import Escalation
from streams.ledger.book import Ledger, LedgerEntry
from streams.ledger.escalations import escalation_messages, ledger_of_period
from streams.report.records_source import RecordsError, read_breaches

WINDOW = {"kind": "window", "breach_id": "b1", "revision": 0, "state": "final", "status": "breached",
          "contract": "c", "term": "t", "kpi": "service_level", "scope": "q1", "window_start": "2026-10-01T00:00",
          "window_end": "2026-10-01T00:30", "value": 0.5, "threshold": 0.8}


def test_a_records_file_keeps_its_breaches_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(orjson.dumps(WINDOW) + b"\n\n" + orjson.dumps({"kind": "ticket"}) + b"\n")
    assert read_breaches(path) == [WINDOW, {"kind": "ticket"}]


@pytest.mark.parametrize(("line", "said"), [
    (b"{not json", "breaches.jsonl:2: not JSON"),
    (b"[1, 2]", "breaches.jsonl:2: not a `cckpi.breaches` record (missing: all)"),
    (b'{"kind": "window", "breach_id": "x"}', "breaches.jsonl:2: not a `cckpi.breaches` record (missing: contract"),
    (b'{"breach_id": "x"}', "breaches.jsonl:2: not a `cckpi.breaches` record (missing: kind)"),
])
def test_a_line_that_is_not_a_breach_record_is_named(tmp_path: Path, line: bytes, said: str) -> None:
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(orjson.dumps(WINDOW) + b"\n" + line + b"\n")
    with pytest.raises(RecordsError) as caught:
        read_breaches(path)
    assert str(caught.value).startswith(f"{tmp_path}/{said}")


@pytest.mark.parametrize("command", [
    ["ledger", "-c", "contracts/examples/demo.yaml", "--period", "2026-10", "--breaches"],
    ["grafana", "annotate", "--url", "http://127.0.0.1:1", "--token", "t", "--breaches"],
])
def test_ledger_and_annotate_refuse_a_bad_records_file_in_one_line(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(b'{"kind": "window"}\n')
    root = Path(__file__).parents[2]
    args = [str(root / a) if a.endswith(".yaml") else a for a in command]
    result = CliRunner().invoke(app, [*args, str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"error: {path}:1: not a `cckpi.breaches` record (missing: breach_id, "
                                          "contract, kpi, revision, scope, state, status, term, threshold, value, "
                                          "window_end, window_start)"]


def _entry(breach_id: str, window_start: str) -> LedgerEntry:
    return LedgerEntry(breach_id=breach_id, contract="c", term="t", kpi="service_level", scope="q1",
                       window_start=window_start, window_end=window_start, value=0.5, threshold=0.8, revision=0,
                       amount=Decimal("100"), currency="EUR", booked_in=window_start[:7])


def test_the_period_view_keeps_the_period_and_the_escalations_its_breaches_reached() -> None:
    reached = Escalation(escalation_id="c/t/2026-Q4/1", contract="c", term="t", period="2026-Q4", breaches=1,
                         after_breaches=1, right="termination", reached_by="oct")
    before = Escalation(escalation_id="c/t/2026-Q3/1", contract="c", term="t", period="2026-Q3", breaches=1,
                        after_breaches=1, right="termination", reached_by="sep")
    ledger = Ledger(entries=[_entry("sep", "2026-09-30T23:30"), _entry("oct", "2026-10-01T00:00")],
                    escalations=[before, reached])
    view = ledger_of_period(ledger, "2026-10")
    assert [e.breach_id for e in view.entries] == ["oct"]
    assert view.totals == {("c", "2026-10", "EUR"): Decimal("100")}
    assert view.escalations == [reached]
    assert view.to_dict()["totals"] == [{"contract": "c", "month": "2026-10", "currency": "EUR", "amount": "100"}]
    [(key, value)] = escalation_messages(view.escalations)
    assert key == b"c/t/2026-Q4/1" and orjson.loads(value) == {"schema_version": 1, **orjson.loads(
        orjson.dumps(reached.__dict__))}
