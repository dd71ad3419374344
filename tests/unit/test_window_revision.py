"""One meaning of "revision" for users: the window's revision (0 = first published, n = n-th late-data revision),
in `cckpi.kpi-windows`, the breach records' `window_revision`, the ledger, the statement (HTML and CSV) and the
metrics (each window closes once; its revisions count in `cckpi_window_revisions_total`)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import parse_contract
from streams.kafka_io import topics
from streams.ledger import build_ledger
from streams.report import build_statement, parse_period
from streams.report.csv_files import write_csv
from streams.report.html_page import render_html
from streams.report.statement import Published, Statement
from tests.helpers import abandoned, answered, at, offered
from tests.unit.test_breach_counting import PRICED, Run
from tests.unit.test_report import _rows
from tests.unit.test_shell import msg, sample

KEY = "t/ar/q1/2026-11-23T10:00:00+08:00"


class Stream(Run):
    """A shell over the priced test contract that keeps the window and breach records it published."""

    def __init__(self) -> None:
        super().__init__()
        self.contract = parse_contract(PRICED)
        self.breaches: list[dict] = []

    def send(self, *events: object) -> None:
        """Consume one batch of these events; keep what it published."""
        batch = [msg(e, self.offset + i) for i, e in enumerate(events)]
        self.offset += len(batch)
        result = self.shell.on_batch(batch, stored={}, wall_now=at("12:00").timestamp())
        for topic, _key, value in result.sends:
            if topic == topics.KPI_WINDOWS:
                self.windows.append(orjson.loads(value))
            elif topic == topics.BREACHES:
                self.breaches.append(orjson.loads(value))

    def count(self, name: str, **labels: str) -> float:
        """A sample of the test term with these labels."""
        return sample(self.metrics, name, contract="t", term="ar", **labels)

    def closed(self) -> float:
        """`cckpi_windows_closed_total` of the test term over every status."""
        return sum(self.count("cckpi_windows_closed_total", status=s) for s in ("met", "breached",
                                                                                "insufficient_volume"))

    def statement(self, breaches: list[dict] | None = None) -> Statement:
        """The 2026-11 statement of the published windows and these (else the published) breach records."""
        return build_statement(self.contract, parse_period("2026-11", self.contract.timezone),
                               map(Published, self.windows), self.breaches if breaches is None else breaches, [])


def breached_then_revised() -> Stream:
    """q1's 10:00 window breaches while open, closes breached (revision 0), and a late abandon revises it (1)."""
    run = Stream()
    run.send(answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03")), offered(at("10:30")))
    run.send(abandoned(at("10:04")))
    return run


class _Tables(HTMLParser):
    """The cells of every table of a page, by table and row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _html_breach_revisions(page: str) -> list[str]:
    """The Revision column of the statement's breach table."""
    parser = _Tables()
    parser.feed(page)
    [table] = [t for t in parser.tables if t and "Evidence (sample of event ids)" in t[0]]
    column = table[0].index("Revision")
    return [row[column] for row in table[1:]]


def test_breach_records_carry_the_window_revision_besides_their_lifecycle_step() -> None:
    run = breached_then_revised()
    assert [w["revision"] for w in run.windows] == [0, 1]
    steps = [(b["state"], b["revision"], b["window_revision"]) for b in run.breaches]
    assert steps == [("breached", 1, 0), ("final", 2, 0), ("final", 3, 1)]
    assert all(b["schema_version"] >= 3 for b in run.breaches)


def test_statement_csv_html_and_ledger_show_the_window_revision(tmp_path: Path) -> None:
    run = breached_then_revised()
    s = run.statement()
    assert [(b.entry.breach_id, b.entry.revision) for b in s.breaches] == [(KEY, 1)]  # not lifecycle step 3
    write_csv(s, tmp_path)
    assert [r["revision"] for r in _rows(tmp_path / "breaches.csv")] == ["1"]
    assert {r["key"]: r["revision"] for r in _rows(tmp_path / "windows.csv")} == {KEY: "1"}
    assert _html_breach_revisions(render_html(s, "cckpi report ...")) == ["1"]
    [entry] = build_ledger(run.breaches, [run.contract]).entries
    assert entry.revision == 1


def test_ledger_command_prints_the_window_revision(tmp_path: Path) -> None:
    run = breached_then_revised()
    contract, records = tmp_path / "t.yaml", tmp_path / "breaches.jsonl"
    contract.write_text(PRICED)
    records.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in run.breaches))
    result = CliRunner().invoke(app, ["ledger", "-c", str(contract), "--period", "2026-11", "--breaches",
                                      str(records), "--format", "json"])
    assert result.exit_code == 0, result.output
    [entry] = orjson.loads(result.stdout)["entries"]
    assert (entry["breach_id"], entry["revision"]) == (KEY, 1)


def test_breach_records_older_than_schema_3_take_the_revision_from_the_windows() -> None:
    run = breached_then_revised()
    legacy = [{k: v for k, v in b.items() if k != "window_revision"} | {"schema_version": 2} for b in run.breaches]
    [entry] = build_ledger(legacy, [run.contract]).entries
    assert entry.revision is None  # unknown from the breach record alone, never the lifecycle step
    assert [b.entry.revision for b in run.statement(legacy).breaches] == [1]


def test_a_revised_breached_window_closes_once_breaches_once_and_is_revised_once() -> None:
    run = breached_then_revised()
    assert run.count("cckpi_breaches_total", scope="q1") == 1
    assert run.count("cckpi_windows_closed_total", status="breached") == 1
    assert run.closed() == 1
    assert run.count("cckpi_window_revisions_total") == 1


def test_a_window_closes_once_by_its_first_status_whatever_its_revisions_say() -> None:
    run = Stream()
    run.send(*(answered(at("10:01")) for _ in range(3)), offered(at("10:30")))  # closes met
    run.send(abandoned(at("10:02")), abandoned(at("10:03")))  # revisions 1 and 2: breached
    assert [(w["revision"], w["status"]) for w in run.windows] == [(0, "met"), (1, "breached"), (2, "breached")]
    assert run.count("cckpi_windows_closed_total", status="met") == 1 and run.closed() == 1
    assert run.count("cckpi_breaches_total", scope="q1") == 1 and run.count("cckpi_window_revisions_total") == 2
    assert [b.entry.revision for b in run.statement().breaches] == [2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 89), st.booleans()), min_size=1, max_size=60), st.integers(1, 8))
def test_every_surface_agrees_with_the_window_records(calls: list[tuple[int, bool]], per_batch: int) -> None:
    run = Stream()
    events = [(answered if ok else abandoned)(at("10:00") + timedelta(minutes=m)) for m, ok in calls]
    events.append(offered(at("13:00")))
    for i in range(0, len(events), per_batch):
        run.send(*events[i:i + per_batch])
    latest = {w["key"]: w for w in run.windows}  # published in order: the last record of a key is its latest
    assert run.closed() == len(latest)
    assert run.count("cckpi_window_revisions_total") == sum(w["revision"] >= 1 for w in run.windows)
    by_revision = {(w["key"], w["revision"]): w for w in run.windows}
    for b in (b for b in run.breaches if b["state"] == "final"):  # the final step judged that window revision
        w = by_revision[(b["breach_id"], b["window_revision"])]
        assert (w["status"], w["numerator"], w["denominator"]) == (b["status"], b["numerator"], b["denominator"])
    booked = {b.entry.breach_id: b.entry.revision for b in run.statement().breaches}
    assert booked == {k: w["revision"] for k, w in latest.items() if w["status"] == "breached"}
