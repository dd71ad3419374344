"""One home for every KPI rule: the registry (`streams/contracts/kpis.py` + `streams/core/kpis.py`) defines each KPI
once, and contracts, the core, metrics, statements and dashboards derive everything from it; no other module lists
KPIs. A KPI added to the registry alone validates, computes, exports, reports and gets dashboard panels."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.cli.schema import contract_schema
from streams.contracts import ContractError, parse_contract
from streams.contracts.checks import OPTION_FIELDS
from streams.contracts.kpis import CATALOG, KpiSpec
from streams.contracts.model import Term
from streams.core import WindowResult, compile_terms, compute
from streams.core.kpis import KPIS, Contribution, KpiKind, Load, Projection
from streams.dashboards import build_dashboards
from streams.dashboards.queries import panels
from streams.models.events import EVENT_TYPES, CallEnded, Event
from streams.queueing.erlang import predict
from streams.report import build_statement, parse_period
from streams.report.html_page import render_html
from streams.report.labels import LABELS, kpi_name
from streams.report.statement import Published
from streams.sinks import Metrics
from tests.helpers import at, ended

ROOT = Path(__file__).parents[2]
REGISTRY = {ROOT / "streams" / "contracts" / "kpis.py", ROOT / "streams" / "core" / "kpis.py"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
REQUIRED_VALUES = {"answer_within_seconds": "20", "within": "{hours: 4}", "satisfied_at": "4", "min_agents": "3"}
"""A value for each option some KPI requires (keyed by term field, not by KPI)."""


def every_kpi_contract(names: list[str]) -> str:
    """A valid contract with one daily term per KPI, levels mid-range, required options given."""
    lines = ["id: every", "name: every KPI", "timezone: Asia/Shanghai", "scope: {queues: [q1]}", "terms:"]
    for name in names:
        spec = CATALOG[name]
        low, high = spec.level_range
        options = "".join(f", {o}: {REQUIRED_VALUES[o]}" for o in sorted(spec.required))
        lines.append(f"  - {{id: {name.replace('_', '-')}, kpi: {name}, threshold: {(low + high) / 2:g}, "
                     f"window: day{options}}}")
    return "\n".join(lines) + "\n"


def test_every_kpi_is_defined_once_and_completely() -> None:
    assert list(KPIS) == list(CATALOG)
    ticket_events = {t for t in EVENT_TYPES if t.startswith("ticket.")}
    for name, spec in CATALOG.items():
        kind = KPIS[name]
        assert kind.spec is spec and spec.name == name
        assert _CJK.search(spec.title_zh) and spec.title_en and "\n" not in spec.definition, name
        assert spec.measure in LABELS and spec.required <= spec.options <= set(OPTION_FIELDS) <= set(Term.model_fields)
        assert kind.events and kind.events <= set(EVENT_TYPES), name
        if spec.source == "tickets":
            assert kind.contribute is None and kind.events <= ticket_events, name
        elif spec.source == "availability":  # each service's status and measured time: streams.core.services
            assert kind.contribute is None and kind.events == {"service.down", "service.up", "service.probe"}
        elif kind.contribute is None:  # each queue's agents and measured time: streams.core.staffing
            assert spec.source == "calls" and kind.events == {t for t in EVENT_TYPES if t.startswith("agent.")}, name
        else:
            assert kind.contribute is not None, name
        assert kind.forecast is None or spec.source == "calls", name
    assert len({s.title_zh for s in CATALOG.values()}) == len(CATALOG), "one Chinese title per KPI, not shared"
    assert len({s.title_en for s in CATALOG.values()}) == len(CATALOG)


def test_the_seed_contracts_wording_is_the_one_chinese_title() -> None:
    zh = {name: kpi_name(name, "zh") for name in CATALOG}
    assert (zh["answer_rate"], zh["resolution_within"], zh["availability"], zh["csat_average"]) == (
        "接听率", "问题解决及时率", "服务可用性", "客户满意度")
    board = build_dashboards([parse_contract(every_kpi_contract(list(CATALOG)))])
    titles = {p["title"] for b in board.values() for p in panels(b)}
    for name in CATALOG:  # dashboards and statements agree
        assert any(t.startswith(f"{zh[name]} {kpi_name(name, 'en')}") for t in titles), name


def test_contract_schema_and_validation_read_the_registry() -> None:
    kpi = contract_schema()["$defs"]["Term"]["properties"]["kpi"]
    assert kpi["enum"] == list(CATALOG) and kpi["type"] == "string"
    contract = parse_contract(every_kpi_contract(list(CATALOG)))
    assert [t.kpi for t in contract.terms] == list(CATALOG)


def test_every_kpi_has_metrics_and_dashboard_panels_named_by_the_registry() -> None:
    exported = {m.name for m in Metrics().registry.collect()}
    board = build_dashboards([parse_contract(every_kpi_contract(list(CATALOG)))])
    exprs = {name: " ".join(t["expr"] for p in panels(b) for t in p.get("targets", [])) for name, b in board.items()}
    for spec in CATALOG.values():
        assert {spec.metric(), spec.metric("threshold"), spec.metric("warning")} <= exported, spec.name
        assert spec.metric() in exprs["contract-attainment.json"], spec.name
        if spec.source in ("calls", "tickets"):
            wall = "operations-wall.json" if spec.source == "calls" else "ticket-slas.json"
            assert spec.metric() in exprs[wall] and spec.metric("threshold") in exprs[wall], spec.name


def test_forecast_hooks_are_the_registrys() -> None:
    load = Load(rate=100 / 1800, aht=180, agents=12, patience=300)
    base = predict(load.rate, load.aht, load.agents, 0.0, load.patience)
    asa, talk = KPIS["asa"].forecast, KPIS["avg_talk_time"].forecast
    assert asa is not None and talk is None and base.abandon_rate > 0
    # ASA averages over answered calls; agents are sized on Erlang C (13 for 20 s at 10 Erlangs, AHT 180 s)
    term = Term(id="asa", kpi="asa", threshold=20, window="15m")
    assert asa(load, base, term) == Projection(base.asa_seconds, 13, 1.0 - base.abandon_rate)


# --------------------------------------------------------------------------- a KPI added to the registry alone


def _short_calls(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded):
        return event.ts, float(event.talk_seconds < 30), 1.0
    return None


NEW = KpiSpec(name="short_call_rate", title_zh="短通话率", title_en="Short call rate", source="calls", unit="ratio",
              higher_is_better=False, options=frozenset({"queues"}), measure="ended",
              definition="ended calls talking under 30 s / ended calls")


@pytest.fixture
def new_kpi(monkeypatch: pytest.MonkeyPatch) -> KpiSpec:
    """The registry with one more KPI, as if its two definitions had been written."""
    monkeypatch.setitem(CATALOG, NEW.name, NEW)
    monkeypatch.setitem(KPIS, NEW.name, KpiKind(NEW, _short_calls, frozenset({"call.ended"})))
    return NEW


def test_a_kpi_added_to_the_registry_alone_works_everywhere(new_kpi: KpiSpec) -> None:
    text = every_kpi_contract(["answer_rate", new_kpi.name]).replace("threshold: 0.5, window: day}",
                                                                      "threshold: 0.5, window: 1h}")
    contract = parse_contract(text)
    calls = [ended(at("10:05"), talk=10), ended(at("10:10"), talk=100), ended(at("11:30"), talk=5)]
    outputs = compute(calls, compile_terms([contract]))
    [first, _] = [o for o in outputs if isinstance(o, WindowResult) and o.kpi == new_kpi.name]
    assert (first.numerator, first.denominator, first.status) == (1, 2, "met")
    records = [Published(o.to_dict()) for o in outputs if isinstance(o, WindowResult)]
    page = render_html(build_statement(contract.model_copy(update={"language": "zh"}),
                                       parse_period("2026-11", contract.timezone), records, [], []), "cckpi report")
    assert "短通话率" in page and LABELS["ended"][0] in page
    board = build_dashboards([contract])["operations-wall.json"]
    assert "短通话率 Short call rate" in [p["title"] for p in panels(board)]
    assert "cckpi_short_call_rate_ratio" in {m.name for m in Metrics().registry.collect()}


def test_an_unknown_kpi_names_its_place_and_the_closest_kpi() -> None:
    with pytest.raises(ContractError) as info:
        parse_contract(every_kpi_contract(["answer_rate"]).replace("kpi: answer_rate", "kpi: answer_rat"), "c.yaml")
    [problem] = [str(p) for p in info.value.problems]
    assert problem.startswith("c.yaml:6: terms[0].kpi: 'answer_rat' is not a KPI (did you mean answer_rate?)")
    assert ", ".join(CATALOG) in problem


# --------------------------------------------------------------------------- no other module lists KPIs


def kpi_lists(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) of every literal tuple, list, set or dict (keys) spelling two or more KPI names, and of every
    comparison of a `kpi` with a KPI name (`if kpi == "asa"` branches)."""
    for node in ast.walk(ast.parse(source)):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) and items:
            named = [i.value for i in items if isinstance(i, ast.Constant) and i.value in CATALOG]
            if len(named) >= 2:
                yield node.lineno, f"lists {', '.join(named)}"
        if isinstance(node, ast.Compare) and "kpi" in ast.unparse(node.left):
            named = [c.value for c in node.comparators if isinstance(c, ast.Constant) and c.value in CATALOG]
            if named:
                yield node.lineno, f"branches on {named[0]}"


RULE_READERS = ("contracts", "core", "report", "dashboards")
"""Packages whose KPI rules must all come from the registry (no `kpi ==` branches either)."""


def test_no_module_outside_the_registry_lists_kpis() -> None:
    found = []
    for path in sorted((ROOT / "streams").rglob("*.py")):
        if path in REGISTRY:
            continue
        package = path.relative_to(ROOT / "streams").parts[0]
        for line, what in kpi_lists(path.read_text(encoding="utf-8")):
            if what.startswith("lists") or package in RULE_READERS:
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "KPI rules outside the registry:\n" + "\n".join(found)


def test_the_scan_finds_lists_and_branches() -> None:
    sample = ('KpiName = Literal["asa", "nps"]\nif t.kpi == "asa":\n    pass\n'
              'MEASURES = {"asa": "answered", "nps": 1}\nFAMILY = {"availability": 1, "tickets": 2}\n')
    assert sorted(kpi_lists(sample)) == [(1, "lists asa, nps"), (2, "branches on asa"), (4, "lists asa, nps")]


# --------------------------------------------------------------------------- the documented table is the registry's


def readme_row(spec: KpiSpec) -> str:
    """The row of the term kinds table (docs/design.md, linked from the README) for one KPI."""
    options = [f"`{o}` (required)" for o in sorted(spec.required)] + [f"`{o}`" for o in sorted(spec.options
                                                                                          - spec.required)]
    seconds = spec.min_window_seconds
    window = f"{seconds // 86400} day" if seconds % 86400 == 0 else (
        f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min")
    return (f"| `{spec.name}` | {spec.source} | {spec.unit} | {'higher' if spec.higher_is_better else 'lower'} | "
            f"{spec.definition} | {', '.join(options) or '-'} | {window} |")


def test_the_term_kinds_table_lists_the_registry() -> None:
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    rows = [line for line in design.splitlines() if line.startswith("| `") and line.count(" | ") == 6]
    expected = [readme_row(s) for s in CATALOG.values()]
    assert rows == expected, "docs/design.md's term kinds table should be:\n" + "\n".join(expected)
    assert "docs/design.md#term-kinds" in (ROOT / "README.md").read_text(encoding="utf-8")
