"""Dashboards generated from the contracts: structure of the Grafana JSON model, the committed files are current,
publishing posts them to Grafana (a local stub server), the preview draws from a Prometheus query API (a stub
here; the real one in tests/integration/test_dashboards_prometheus.py), and the metrics the dashboards add."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from typer.testing import CliRunner

from streams.app.emitter import RawMessage
from streams.app.loop import observe_close_delay
from streams.app.shell import StreamShell
from streams.app.worker import report_open_tickets, start_counters
from streams.cli.dashboards import app
from streams.contracts import parse_contract
from streams.contracts.kpis import CATALOG
from streams.contracts.loader import load_contract, load_contracts
from streams.core import Processor, compile_terms
from streams.dashboards import FILES, build_dashboards, render
from streams.dashboards.build import kinds_used
from streams.dashboards.panels import GRAFANA_DATASOURCE as GRAFANA_BUILT_IN
from streams.dashboards.panels import GRID_COLUMNS
from streams.dashboards.preview import field_config, fmt, step_color
from streams.dashboards.queries import label_values_query, legend_name, panel_queries, panels, substitute
from streams.kafka_io import topics
from streams.models import TicketCreated, TicketFirstResponse, encode_event
from streams.sinks import Metrics
from streams.sinks.grafana import breach_annotations
from tests.helpers import abandoned, answered, at, offered, terms

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "contracts" / "examples").glob("*.yaml"))
DEMO = ROOT / "contracts" / "examples" / "demo.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "dashboards.yaml"
BUILTINS = {"__range", "__rate_interval", "__interval"}
DASHBOARD_KEYS = {"id", "uid", "title", "description", "tags", "timezone", "editable", "graphTooltip",
                  "fiscalYearStartMonth", "liveNow", "weekStart", "schemaVersion", "version", "refresh", "time",
                  "timepicker", "annotations", "links", "templating", "panels"}
PANEL_KEYS = {"id", "type", "title", "description", "datasource", "targets", "fieldConfig", "options", "gridPos"}
TARGET_KEYS = {"refId", "datasource", "editorMode", "expr", "legendFormat", "range", "instant"}
VARIABLE_KEYS = {"name", "label", "type", "datasource", "definition", "query", "refresh", "regex", "sort", "hide",
                 "multi", "includeAll", "allValue", "options", "current"}
PANEL_TYPES = {"timeseries", "stat", "bargauge", "state-timeline"}
CJK = re.compile(r"[\u4e00-\u9fff]")


PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
"""What every panel, target and query variable names: the dashboard's `datasource` variable, no fixed uid."""


def all_boards() -> list[tuple[str, dict]]:
    examples = build_dashboards(load_contracts(EXAMPLES))
    fixture = build_dashboards([load_contract(FIXTURE)])
    return [*((f"examples/{n}", b) for n, b in examples.items()), *((f"fixture/{n}", b) for n, b in fixture.items())]


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize(("name", "board"), all_boards(), ids=lambda v: v if isinstance(v, str) else "")
def test_dashboard_json_model_is_well_formed(name: str, board: dict) -> None:
    json.loads(render(board))  # plain JSON, nothing Python-only
    assert set(board) <= DASHBOARD_KEYS and {"uid", "title", "schemaVersion", "panels", "templating"} <= set(board)
    assert board["schemaVersion"] == 39 and board["id"] is None and board["tags"][0] == "cckpi"
    assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"])
    assert CJK.search(board["title"]) and re.search(r"[A-Za-z]", board["title"])
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels(board):
        assert set(panel) <= PANEL_KEYS and panel["type"] in PANEL_TYPES, panel["title"]
        pos = panel["gridPos"]
        assert set(pos) == {"h", "w", "x", "y"} and all(isinstance(v, int) for v in pos.values())
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= GRID_COLUMNS
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        assert panel["datasource"] == PROMETHEUS
        assert CJK.search(panel["title"]) and re.search(r"[A-Za-z]", panel["title"]), panel["title"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for t in panel["targets"]:
            assert set(t) <= TARGET_KEYS and t["datasource"] == panel["datasource"] and t["expr"].strip()
            assert t["expr"].count("(") == t["expr"].count(")") and t["expr"].count("{") == t["expr"].count("}")
        defaults = panel["fieldConfig"]["defaults"]
        for thresholds in [defaults["thresholds"], *(p["value"] for o in panel["fieldConfig"]["overrides"]
                                                     for p in o["properties"] if p["id"] == "thresholds")]:
            values = [s["value"] for s in thresholds["steps"]]
            assert values[0] is None and values[1:] == sorted(values[1:])
        for o in panel["fieldConfig"]["overrides"]:
            re.compile(o["matcher"]["options"])


@pytest.mark.parametrize(("name", "board"), all_boards(), ids=lambda v: v if isinstance(v, str) else "")
def test_template_variables_exist_and_are_used(name: str, board: dict) -> None:
    first, *queried = board["templating"]["list"]
    assert first["type"] == "datasource" and first["name"] == "datasource" and first["query"] == "prometheus"
    assert first["current"]["value"] == "default"  # the organisation's default Prometheus, whatever its uid
    variables = {v["name"]: v for v in queried}
    assert "contract" in variables
    if "operations" in name or "attainment" in name:
        assert "scope" in variables and variables["scope"]["includeAll"] and variables["scope"]["allValue"] == ".*"
    for v in variables.values():
        assert set(v) <= VARIABLE_KEYS and v["type"] == "query" and v["datasource"] == PROMETHEUS
        assert CJK.search(v["label"]) and re.search(r"[A-Za-z]", v["label"])
        label_values_query(v["query"])
    exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
    referenced = {m for e in [*exprs, *(v["query"] for v in variables.values())]
                  for m in re.findall(r"\$\{?(\w+)", e)}
    assert referenced <= set(variables) | BUILTINS, "a query uses an undefined variable"
    for name_ in variables:
        assert any(f"${name_}" in e for e in exprs), f"variable {name_} is used by no panel"


def datasources(node: Any) -> Iterator[Any]:
    """Every `datasource` value anywhere in a dashboard model."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasources(item)


@pytest.mark.parametrize("path", sorted((ROOT / "dashboards").glob("*.json")), ids=lambda p: p.name)
def test_no_dashboard_names_a_fixed_prometheus_uid(path: Path) -> None:
    """Imported into a Grafana whose Prometheus has another uid, the dashboards still find it."""
    board = json.loads(path.read_text(encoding="utf-8"))
    found = list(datasources(board))
    assert PROMETHEUS in found
    assert all(d in (PROMETHEUS, GRAFANA_BUILT_IN) for d in found), f"{path.name}: a datasource named by uid"
    provisioned = yaml.safe_load((ROOT / "deploy" / "grafana" / "provisioning" / "datasources" /
                                  "prometheus.yml").read_text())["datasources"]
    assert any(d["type"] == "prometheus" and d.get("isDefault") for d in provisioned), \
        "`default` of the datasource variable is the provisioned Prometheus"


def tag_queries(board: dict) -> dict[str, list[str]]:
    """Annotation name -> tags of the dashboard's annotation queries by tag."""
    return {a["name"]: a["target"]["tags"] for a in board["annotations"]["list"]
            if a.get("target", {}).get("type") == "tags"}


def test_annotation_queries_show_what_grafana_annotate_writes() -> None:
    """The operations wall and contract attainment show breach annotations of the selected contract (ticket SLAs
    and attainment also missed tickets): their tags are among those `cckpi grafana annotate` writes."""
    window = {"breach_id": "c1/ar/q1/2026-10-05T10:00:00+08:00", "kind": "window", "contract": "c1", "term": "ar",
              "kpi": "answer_rate", "scope": "q1", "window_start": "2026-10-05T10:00:00+08:00",
              "window_end": "2026-10-05T10:15:00+08:00", "state": "final", "status": "breached", "value": 0.5,
              "threshold": 0.8, "revision": 1}
    ticket = {"breach_id": "c1/fr/ticket/T1", "kind": "ticket", "contract": "c1", "term": "fr", "ticket_id": "T1",
              "deadline": "2026-10-08T09:10:00+08:00"}
    written_window, written_ticket = (set(a["tags"]) for a in breach_annotations([window, ticket]))
    boards = build_dashboards(load_contracts(EXAMPLES))
    expected = {"operations-wall.json": {"违约 Breaches"}, "pipeline-health.json": set(),
                "contract-attainment.json": {"违约 Breaches", "超时工单 Tickets past deadline"},
                "ticket-slas.json": {"超时工单 Tickets past deadline"}}
    assert {name: set(tag_queries(board)) for name, board in boards.items()} == expected
    for board in boards.values():
        for name, tags in tag_queries(board).items():
            wanted = {substitute(t, {"contract": "c1"}) for t in tags}
            assert "$contract" in tags, "only the selected contract's annotations"
            assert wanted <= (written_window if "Breaches" in name else written_ticket), name
            assert not wanted <= (written_ticket if "Breaches" in name else written_window), name
            other = {substitute(t, {"contract": "c2"}) for t in tags}
            assert not other <= written_window | written_ticket, "another contract's annotations are not shown"


def test_committed_dashboards_are_what_cckpi_dashboards_build_makes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for built in tmp_path.iterdir():
        committed = ROOT / "dashboards" / built.name
        assert committed.exists() and committed.read_text() == built.read_text(), \
            f"dashboards/{built.name} is out of date: run `cckpi dashboards build`"
    assert CliRunner().invoke(app, ["build", "--check"]).exit_code == 0
    (tmp_path / "ops.json").write_text("{}")
    stale = CliRunner().invoke(app, ["build", "--check", "-c", str(DEMO), "--out", str(tmp_path)])
    assert stale.exit_code == 1 and "ticket-slas.json: not up to date" in stale.output


def test_panels_follow_the_kpi_kinds_the_contracts_use() -> None:
    boards = build_dashboards([load_contract(DEMO)])
    assert sorted(boards) == ["contract-attainment.json", "operations-wall.json", "pipeline-health.json"]
    wall = [p["title"] for p in boards["operations-wall.json"]["panels"]]
    assert wall == ["接听率 Answer rate · 本期 Period to date", "服务水平 Service level · 本期 Period to date",
                    "平均应答速度 Average speed of answer · 本期 Period to date", "排队来电 Calls waiting",
                    "接听率 Answer rate", "服务水平 Service level", "平均应答速度 Average speed of answer",
                    "排队来电 Calls waiting", "违约状态 Breach state",
                    "预测服务水平 Forecast service level", "坐席 Agents staffed / needed",
                    "余量 Budget: bad contacts left"]
    fixture = build_dashboards([load_contract(FIXTURE)])
    tickets = [p["title"] for p in fixture["ticket-slas.json"]["panels"]]
    assert "首次响应及时率 First response in time" in tickets and "问题解决及时率 Resolution in time" in tickets
    assert "4 小时内到期的未结工单 Open tickets due within 4 h" in tickets
    unused = ("avg_handle_time", "nps", "next_reply_within")  # no seed contract has a next-reply clause
    assert list(kinds_used(load_contracts(EXAMPLES))) == [k for k in CATALOG if k not in unused]


def test_contract_levels_are_the_panel_thresholds_and_the_lines_come_from_the_metrics() -> None:
    board = build_dashboards([load_contract(DEMO)])["operations-wall.json"]
    by_title = {p["title"]: p for p in board["panels"]}
    answer = by_title["接听率 Answer rate"]
    assert [t["expr"] for t in answer["targets"]] == [
        'cckpi_answer_rate_ratio{contract="$contract", scope=~"$scope", window="current"}',
        'cckpi_answer_rate_threshold_ratio{contract="$contract"}',
        'cckpi_answer_rate_warning_ratio{contract="$contract"}']
    assert answer["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "area"
    config = field_config(answer, "cards · answer-rate-15m")
    assert [(s["color"], s["value"]) for s in config["thresholds"]["steps"]] == [
        ("red", None), ("orange", 0.9), ("green", 0.93)]
    assert (step_color(config["thresholds"], 0.85), step_color(config["thresholds"], 0.95)) == ("red", "green")
    threshold_line = field_config(answer, "阈值 Threshold · answer-rate-15m")
    assert threshold_line["color"] == {"mode": "fixed", "fixedColor": "red"}
    assert threshold_line["custom"]["lineStyle"]["fill"] == "dash"
    asa = field_config(by_title["平均应答速度 Average speed of answer · 本期 Period to date"], "general · asa-15m")
    assert [(s["color"], s["value"]) for s in asa["thresholds"]["steps"]] == [("green", None), ("red", 30)]
    attainment = build_dashboards([load_contract(FIXTURE)])["contract-attainment.json"]
    [breached] = [p for p in attainment["panels"] if p["title"] == "违约窗口 Breached windows"]
    assert "hotline/answer-rate-15m: 500 CNY" in breached["description"]


def test_queries_substitute_variables_as_grafana_does() -> None:
    board = build_dashboards([load_contract(DEMO)])["contract-attainment.json"]
    queries = panel_queries(board, {"contract": "demo", "scope": ["general", "cards"]})
    assert all("$" not in q.expr for q in queries)
    assert any('scope=~"(general|cards)"' in q.expr for q in queries)
    assert any("[1h]" in q.expr for q in queries)
    with pytest.raises(KeyError, match=r"\$scope"):
        substitute('x{scope=~"$scope"}', {})
    assert substitute("rate(x[${__rate_interval}])", {}, {"__rate_interval": "2m"}) == "rate(x[2m])"
    assert label_values_query('label_values({__name__=~"a|b", contract="$contract"}, scope)') == (
        '{__name__=~"a|b", contract="$contract"}', "scope")
    assert label_values_query("label_values(up, job)") == ("up", "job")
    assert legend_name("{{scope}} · {{term}}", {"scope": "general", "term": "ar"}) == "general · ar"
    assert fmt(0.9234, {"unit": "percentunit", "decimals": 1}) == "92.3%"
    assert fmt(0.25, {"unit": "s"}) == "250 ms"


# --------------------------------------------------------------------------- stub HTTP servers


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Stub:
    """A local HTTP server: `answer(method, path, query, body)` -> (status, JSON); every request recorded."""

    answer: Callable[[str, str, dict[str, list[str]], Any], tuple[int, Any]]
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def stub_server(answer: Callable[[str, str, dict[str, list[str]], Any], tuple[int, Any]]) -> Iterator[Stub]:
    stub = Stub(answer)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                query.update(parse_qs(raw.decode()))
                body = None
            stub.requests.append(Recorded(self.command, url.path, query, dict(self.headers), body))
            status, payload = stub.answer(self.command, url.path, query, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def grafana(method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
    if (method, path) == ("GET", "/api/folders"):
        return 200, [{"id": 3, "uid": "other", "title": "Other"}]
    if (method, path) == ("POST", "/api/folders"):
        return 200, {"id": 7, "uid": "f-cckpi", "title": body["title"]}
    if (method, path) == ("POST", "/api/dashboards/db"):
        uid = body["dashboard"]["uid"]
        return 200, {"id": 1, "uid": uid, "url": f"/d/{uid}/x", "status": "success", "version": 2}
    return 404, {"message": "not found"}


def test_publish_posts_every_dashboard_to_grafana(tmp_path: Path) -> None:
    for name, board in build_dashboards([load_contract(FIXTURE)]).items():
        (tmp_path / name).write_text(render(board))
    with stub_server(grafana) as server:
        result = CliRunner().invoke(app, ["publish", "--url", server.url, "--token", "glsa_test", "--folder", "CCKPI",
                                          "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    calls = [(r.method, r.path) for r in server.requests]
    assert calls == [("GET", "/api/folders"), ("POST", "/api/folders")] + [("POST", "/api/dashboards/db")] * 4
    assert server.requests[1].body == {"title": "CCKPI"}
    posted = [r.body for r in server.requests[2:]]
    assert [p["dashboard"]["uid"] for p in posted] == ["cckpi-operations", "cckpi-attainment", "cckpi-tickets",
                                                      "cckpi-pipeline"]
    for payload, name in zip(posted, FILES, strict=True):
        assert payload["overwrite"] is True and payload["folderUid"] == "f-cckpi"
        assert payload["dashboard"] == {**json.loads((tmp_path / name).read_text()), "id": None}
    assert all(r.headers["Authorization"] == "Bearer glsa_test" for r in server.requests)
    assert f"{server.url}/d/cckpi-operations/x (version 2)" in result.output


def test_publish_into_an_existing_folder_and_failure_exit_code(tmp_path: Path) -> None:
    (tmp_path / "pipeline-health.json").write_text(render(build_dashboards([load_contract(DEMO)])
                                                          ["pipeline-health.json"]))

    def existing(method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        if path == "/api/folders":
            return 200, [{"id": 9, "uid": "f9", "title": "CCKPI"}]
        return grafana(method, path, query, body)

    with stub_server(existing) as server:
        ok = CliRunner().invoke(app, ["publish", "--url", server.url, "--folder", "CCKPI", "--dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/api/folders"), ("POST", "/api/dashboards/db")]
    assert server.requests[1].body["folderUid"] == "f9" and "Authorization" not in server.requests[1].headers

    with stub_server(lambda *a: (401, {"message": "invalid API key"})) as server:
        denied = CliRunner().invoke(app, ["publish", "--url", server.url, "--token", "bad", "--dir", str(tmp_path)])
    assert denied.exit_code == 1 and "publish failed" in denied.output
    assert CliRunner().invoke(app, ["publish", "--url", "http://127.0.0.1:9", "--dir", str(tmp_path / "no")]
                              ).exit_code == 2


def test_preview_draws_every_panel_from_a_prometheus_query_api(tmp_path: Path) -> None:
    board = build_dashboards([load_contract(DEMO)])["operations-wall.json"]
    (tmp_path / "wall.json").write_text(render(board))

    def prometheus(method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if path == "/api/v1/label/contract/values":
            return 200, {"status": "success", "data": ["demo"]}
        expr = query["query"][0]
        start, end, step = (float(query[k][0]) for k in ("start", "end", "step"))
        times = [start + i * step for i in range(int((end - start) / step) + 1)]
        if "calls_waiting" in expr:
            series = [{"metric": {"scope": q}, "values": [[t, str(i % 7)] for i, t in enumerate(times)]}
                      for q in ("general", "cards")]
        elif "term_breached" in expr:
            series = [{"metric": {"scope": "general", "term": "answer-rate-15m"},
                       "values": [[t, str(int(i % 40 < 10))] for i, t in enumerate(times)]}]
        elif "threshold" in expr or "warning" in expr:
            level = 30 if "asa" in expr else (0.8 if "service" in expr else 0.9)
            series = [{"metric": {"term": "t"}, "values": [[t, str(level)] for t in times]}]
        else:
            series = [{"metric": {"scope": q, "term": "answer-rate-15m"},
                       "values": [[t, str(0.8 + 0.15 * ((i // 20) % 2))] for i, t in enumerate(times)]}
                      for q in ("general", "cards")]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": series}}

    out = tmp_path / "wall.png"
    with stub_server(prometheus) as server:
        result = CliRunner().invoke(app, ["preview", "--prometheus", server.url, "--out", str(out), "--dashboard",
                                          str(tmp_path / "wall.json"), "--minutes", "10"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 50_000
    ranges = [r for r in server.requests if r.path == "/api/v1/query_range"]
    assert len(ranges) == sum(len(p["targets"]) for p in board["panels"])
    assert all('contract="demo"' in r.query["query"][0] for r in ranges if "contract" in r.query["query"][0])
    assert all('scope=~".*"' in r.query["query"][0] for r in ranges if "scope" in r.query["query"][0])

    with stub_server(lambda *a: (503, {"status": "error", "error": "down"})) as server:
        failed = CliRunner().invoke(app, ["preview", "--prometheus", server.url, "--out", str(out), "--dashboard",
                                          str(tmp_path / "wall.json"), "--contract-id", "demo"])
    assert failed.exit_code == 1 and "preview failed" in failed.output


def test_every_help_text_ends_with_examples() -> None:
    for args in (["--help"], ["build", "--help"], ["publish", "--help"], ["preview", "--help"]):
        text = CliRunner().invoke(app, args, terminal_width=200).output
        assert "Examples" in text and "cckpi dashboards" in text.split("Examples", 1)[1], args


# --------------------------------------------------------------------------- metrics the dashboards add


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def call(event: object, offset: int) -> RawMessage:
    return RawMessage(event.queue.encode(), encode_event(event), topics.CALLS, 0, offset)  # type: ignore[attr-defined]


def test_calls_waiting_per_queue_never_below_zero_and_events_counted_once() -> None:
    shell = StreamShell(Processor(terms()), Metrics(), idle_after=5)
    o1, o2, o3 = offered(at("10:00", 1)), offered(at("10:00", 2)), offered(at("10:00", 3), queue="q2")
    shell.on_batch([call(o1, 0), call(o2, 1), call(o3, 2), call(o1, 3)], stored={})  # o1 twice: a duplicate
    assert sample(shell.metrics, "cckpi_calls_waiting", scope="q1") == 2
    assert sample(shell.metrics, "cckpi_calls_waiting", scope="q2") == 1
    assert sample(shell.metrics, "cckpi_events_total", type="call.offered") == 4
    shell.on_batch([call(answered(at("10:00", 20)), 4), call(abandoned(at("10:00", 40)), 5),
                    call(abandoned(at("10:00", 50)), 6)], stored={})
    assert sample(shell.metrics, "cckpi_calls_waiting", scope="q1") == 0
    shell.forget()  # a rebalance: the queue may belong to another worker now
    assert sample(shell.metrics, "cckpi_calls_waiting", scope="q2") is None


def test_open_tickets_by_time_left_and_counters_start_at_zero() -> None:
    contract = parse_contract(FIXTURE.read_text())
    index = compile_terms([contract])
    metrics = Metrics()
    start_counters(metrics, index)
    assert sample(metrics, "cckpi_breaches_total", contract="hotline", term="asa-15m", scope="cards") == 0
    assert sample(metrics, "cckpi_ticket_breaches_total", contract="hotline", term="resolution-4h") == 0
    assert sample(metrics, "cckpi_windows_closed_total", contract="hotline", term="resolution-4h",
                  status="breached") == 0
    low = StreamShell(Processor(index), metrics, idle_after=10)
    report_open_tickets(low.engine(topics.TICKETS), index, metrics)  # nothing consumed yet: every bucket at 0
    assert sample(metrics, "cckpi_tickets_open", contract="hotline", term="first-response-30m", due_within="1h") == 0
    events = [TicketCreated(event_id="c1", ticket_id="t1", occurred_at=at("10:00"), category="request"),
              TicketCreated(event_id="c2", ticket_id="t2", occurred_at=at("10:20"), category="request"),
              TicketFirstResponse(event_id="r1", ticket_id="t1", occurred_at=at("10:25"))]
    low.on_batch([RawMessage(e.ticket_id.encode(), encode_event(e), topics.TICKETS, 0, i)
                  for i, e in enumerate(events)], {}, wall_now=at("10:26").timestamp())
    report_open_tickets(low.engine(topics.TICKETS), index, metrics)

    def open_(term: str, due: str) -> float | None:
        return sample(metrics, "cckpi_tickets_open", contract="hotline", term=term, due_within=due)

    assert (open_("first-response-30m", "1h"), open_("first-response-30m", "later")) == (1, 0)  # t2, due 10:50
    assert (open_("resolution-4h", "4h"), open_("resolution-4h", "1h")) == (2, 0)  # t1 due 14:00, t2 14:20

    sends = [(topics.KPI_WINDOWS, b"k", b"v"), (topics.BREACHES, b"k", b"v"), (topics.KPI_WINDOWS, b"k", b"v")]
    observe_close_delay(metrics, sends, consumed=0.0)
    assert sample(metrics, "cckpi_window_close_delay_seconds_count") == 2


def test_forecast_panels_query_metrics_the_worker_registers() -> None:
    from streams.sinks.metrics import Metrics

    board = build_dashboards([load_contract(DEMO)])["operations-wall.json"]
    exprs = [t["expr"] for p in board["panels"] if "forecast" in json.dumps(p["targets"]) for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"cckpi_forecast_[a-z_]+", e)}
    registered = {metric.name for metric in Metrics().registry.collect()}
    assert used and used <= registered
