"""The penalty ledger: one entry per final breach, the latest revision decides, escalations counted per period."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import parse_contract
from streams.ledger import build_ledger, in_period
from tests.helpers import CONTRACT

PENALISED = CONTRACT.replace("    min_volume: 3", "    min_volume: 3\n    penalty: {amount: 500, currency: CNY}\n"
                             "    escalation: {after_breaches: 2, within: quarter, right: terminate}")


def breach(start: str, revision: int = 1, state: str = "final", status: str = "breached") -> dict:
    end = start[:11] + f"{int(start[11:13]):02d}:15" + start[16:]
    return {"breach_id": f"t/ar/q1/{start}", "kind": "window", "contract": "t", "term": "ar", "kpi": "answer_rate",
            "scope": "q1", "window_start": start, "window_end": end, "state": state, "status": status,
            "value": 0.5, "threshold": 0.8, "revision": revision}


def test_replayed_breaches_book_once_and_revisions_decide() -> None:
    contract = parse_contract(PENALISED)
    first = breach("2026-10-05T10:00:00+08:00")
    revised_away = [breach("2026-10-06T10:00:00+08:00"), breach("2026-10-06T10:00:00+08:00", 2, status="met")]
    open_only = breach("2026-10-07T10:00:00+08:00", state="breached")
    second = breach("2026-11-02T09:00:00+08:00")
    ledger = build_ledger([first, first, *revised_away, open_only, second, second], [contract])
    assert [e.breach_id for e in ledger.entries] == [first["breach_id"], second["breach_id"]]
    assert ledger.totals() == {("t", "2026-10", "CNY"): 500, ("t", "2026-11", "CNY"): 500}
    [escalation] = ledger.escalations
    assert (escalation.period, escalation.breaches, escalation.right, escalation.reached_by) == (
        "2026-Q4", 2, "terminate", second["breach_id"])


def test_periods() -> None:
    assert in_period("2026-10-05T10:00:00+08:00", "2026-10") and in_period("2026-10-05T10:00:00+08:00", "2026-Q4")
    assert in_period("2026-10-05T10:00:00+08:00", "2026") and not in_period("2026-10-05T10:00:00+08:00", "2026-Q3")


def test_ledger_command_from_breach_records(tmp_path: Path) -> None:
    contract = tmp_path / "t.yaml"
    contract.write_text(PENALISED)
    records = tmp_path / "breaches.jsonl"
    lines = [breach("2026-10-05T10:00:00+08:00"), breach("2026-10-09T10:00:00+08:00")]
    records.write_bytes(b"\n".join(orjson.dumps(r) for r in lines * 2))  # every breach replayed twice
    result = CliRunner().invoke(app, ["ledger", "-c", str(contract), "--period", "2026-10", "--breaches", str(records),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert len(data["entries"]) == 2
    assert data["totals"] == [{"contract": "t", "month": "2026-10", "currency": "CNY", "amount": "1000.00"}]
    assert [x["right"] for x in data["escalations"]] == ["terminate"]
    table = CliRunner().invoke(app, ["ledger", "-c", str(contract), "--period", "2026-10", "--breaches", str(records)])
    assert "total t 2026-10: 1000.00 CNY (2 breaches)" in table.stdout and "escalation" in table.stdout
