"""The command line: batch compute matches the core; validation exit codes; schemas."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.models import encode_event
from streams.sim import Traffic, simulate
from tests.helpers import CONTRACT, at

DEMO = Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml"
runner = CliRunner()


def test_compute_prints_every_closed_window(tmp_path: Path) -> None:
    events = list(simulate(["general", "cards"], at("09:00"), 1800, Traffic(), 2, "cli"))
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(encode_event(e) + b"\n" for e in events) + b"garbage\n")
    result = runner.invoke(app, ["compute", "-c", str(DEMO), "--events", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    expected = [r.to_dict() for r in compute(events, compile_terms([load_contract(DEMO)]))
                if isinstance(r, WindowResult)]
    assert rows == expected and len(rows) >= 6
    assert "1 invalid lines skipped" in result.stderr


def test_compute_table_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(encode_event(e) + b"\n"
                              for e in simulate(["general"], at("09:00"), 900, Traffic(), 2, "c")))
    csv = runner.invoke(app, ["compute", "-c", str(DEMO), "--events", str(path), "--format", "csv"])
    assert csv.exit_code == 0 and csv.stdout.startswith("key,contract,term")
    table = runner.invoke(app, ["compute", "-c", str(DEMO), "--events", str(path), "--format", "table"])
    assert table.exit_code == 0 and "answer-rate-15m" in table.stdout


def test_validate_exit_codes(tmp_path: Path) -> None:
    good = runner.invoke(app, ["contracts", "validate", str(DEMO)])
    assert good.exit_code == 0 and "ok (demo, 3 terms)" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONTRACT.replace("window: 15m", "window: 7m"))
    result = runner.invoke(app, ["contracts", "validate", str(DEMO), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:10: terms[0].window: window '7m' must divide a day" in result.stderr


def test_schema_events_writes_versioned_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "events", "--out", str(tmp_path)])
    assert result.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "v1").iterdir())
    assert {"call.abandoned.json", "call.answered.json", "call.ended.json", "call.offered.json",
            "ticket.created.json", "survey.submitted.json", "service.probe.json"} <= set(files)
    assert len(files) == 22


def test_every_command_has_help_with_examples() -> None:
    for command in (["worker"], ["simulate"], ["compute"], ["demo"], ["replay"], ["ledger"], ["grafana", "annotate"],
                    ["schema", "outputs"], ["dashboards", "build"], ["calendar", "deadline"],
                    ["contracts", "validate"],
                    ["schema", "events"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Examples" in result.stdout, command


def test_output_schemas_are_published_and_validate_real_records(tmp_path: Path) -> None:
    import jsonschema

    from streams.core import BreachUpdate

    root = Path(__file__).parents[2] / "schemas" / "outputs"
    assert runner.invoke(app, ["schema", "outputs", "--out", str(tmp_path)]).exit_code == 0
    for path in tmp_path.iterdir():
        assert path.read_text() == (root / path.name).read_text(), "run: cckpi schema outputs --out schemas/outputs"
    events = list(simulate(["general"], at("09:00"), 3600, Traffic(), 3, "s"))
    outputs = compute(events, compile_terms([load_contract(DEMO)]))
    schemas = {p.stem: json.loads(p.read_text()) for p in root.iterdir()}
    windows = [r.to_dict() for r in outputs if isinstance(r, WindowResult)]
    breaches = [r.to_breach() for r in outputs if isinstance(r, BreachUpdate)]
    assert windows and breaches
    for record in windows:
        jsonschema.validate(record, schemas["kpi-window"])
    for record in breaches:
        jsonschema.validate(record, schemas["breach.window"])
