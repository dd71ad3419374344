"""Every panel query of every dashboard generated from a contract returns data from a real Prometheus that scrapes
a real `cckpi worker` fed by the simulator (calls) and a handful of ticket events; the operations wall preview PNG
is drawn from the same Prometheus.

Set CCKPI_PREVIEW_OUT=docs/operations-wall.png to also write the preview there (how the README picture is made).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from streams.contracts.loader import load_contract
from streams.dashboards import FILES, build_dashboards
from streams.dashboards.preview import render_preview
from streams.dashboards.queries import (
    PrometheusApi,
    Series,
    label_values_query,
    panel_queries,
    substitute,
    template_variables,
)
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.models import TicketCreated, TicketFirstResponse, TicketResolved, encode_event
from tests.integration.support import ROOT, cckpi_process, produce, worker_process
from tools.brokers import TansuBroker, free_port

pytestmark = pytest.mark.integration
FIXTURE = ROOT / "tests" / "fixtures" / "dashboards.yaml"
TZ = ZoneInfo("Asia/Shanghai")
SIM_SPEED, SIM_SECONDS = 240, 8280  # 2 h 18 min in 35 s: eight 15-minute windows closed per queue and term, and
# the end falls in the simulator's hourly staffing dip (minutes 5-20), so the wall ends on a breach


def prometheus_bin() -> str:
    out = subprocess.run(["bash", str(ROOT / "tools" / "services" / "fetch.sh")], capture_output=True, text=True,
                         timeout=900, check=True, cwd=ROOT).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)["PROMETHEUS_BIN"]


@contextlib.contextmanager
def prometheus(binary: str, targets: list[str], workdir: Path) -> Iterator[str]:
    """A real Prometheus on a free loopback port scraping `targets` every second; stopped after."""
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: cckpi-worker
    static_configs: [{{targets: {json.dumps(targets)}}}]
""")
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (workdir / "prometheus.log").read_text()
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "prometheus did not become ready"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def ticket_events(now: datetime) -> list[TicketCreated | TicketFirstResponse | TicketResolved]:
    """Yesterday: two tickets answered in time, one of them never resolved (its day breaches resolution-4h), one
    never answered (misses first-response-30m and resolution-4h). Today: one answered and resolved in time, one
    never answered (misses first-response-30m unless the day is younger than that), one still open. Every event lies
    before `now` (the worker parks events ahead of its clock, --max-future): in the first 50 minutes of a day
    today's schedule is compressed into the minutes since midnight."""
    local = now.astimezone(TZ)
    day = (local - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    span = min(timedelta(minutes=50), local - local.replace(hour=0, minute=0, second=0, microsecond=0))
    base, today = local - span, span / 50  # `today`: one minute of today's schedule
    n = 0

    def ev(cls: type, ticket: str, at: datetime, **extra: str) -> TicketCreated | TicketFirstResponse | TicketResolved:
        nonlocal n
        n += 1
        return cls(event_id=f"dash-{n}", ticket_id=ticket, occurred_at=at, **extra)  # type: ignore[no-any-return]

    m = timedelta(minutes=1)
    return [
        ev(TicketCreated, "d1", day, category="request"), ev(TicketFirstResponse, "d1", day + 5 * m),
        ev(TicketCreated, "d2", day + 10 * m, category="complaint"), ev(TicketFirstResponse, "d2", day + 15 * m),
        ev(TicketCreated, "d6", day + 20 * m, category="request"), ev(TicketResolved, "d1", day + 60 * m),
        ev(TicketCreated, "d3", base, category="request"), ev(TicketFirstResponse, "d3", base + 5 * today),
        ev(TicketCreated, "d4", base + 10 * today, category="request"),
        ev(TicketResolved, "d3", base + 45 * today),
        ev(TicketCreated, "d5", base + 48 * today, category="complaint"),
    ]


@pytest.mark.parametrize("clock", ["00:00:20", "00:10:00", "00:49:59", "00:50:00", "14:10:00", "23:59:59"])
def test_ticket_fixture_never_lies_ahead_of_now_and_keeps_today_today(clock: str) -> None:
    now = datetime.fromisoformat(f"2026-12-03T{clock}").replace(tzinfo=TZ)
    events = ticket_events(now)
    assert all(e.occurred_at <= now for e in events)  # the worker would park a later one (--max-future)
    today = [e for e in events if e.ticket_id in {"d3", "d4", "d5"}]
    assert {e.occurred_at.astimezone(TZ).date() for e in today} == {now.date()}
    yesterday = {e.ticket_id for e in events if e.occurred_at.astimezone(TZ).date() < now.date()}
    assert yesterday == {"d1", "d2", "d6"}  # the breaches the test counts do not depend on the hour
    assert [e.occurred_at for e in today] == sorted(e.occurred_at for e in today)


def wait_until_past_midnight(minutes: int) -> None:
    """Sleep through the first `minutes` of a day in the contract's timezone (a run then is rare: CI at any hour)."""
    local = datetime.now(TZ)
    since = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    if since < timedelta(minutes=minutes):
        time.sleep((timedelta(minutes=minutes) - since).total_seconds() + 1)


def hostport(metrics_url: str) -> str:
    """`host:port` of a /metrics URL, as a scrape target."""
    return metrics_url.removeprefix("http://").removesuffix("/metrics")


def has_data(series: list[Series]) -> bool:
    return any(s.finite() for s in series)


def missing_panels(api: PrometheusApi, boards: dict, variables: dict[str, str]) -> list[str]:
    """`board: panel [ref]: expr` of every query that returns no number over the last two minutes."""
    end = time.time()
    missing = []
    for name, board in boards.items():
        declared = template_variables(board)
        for q in panel_queries(board, {k: v for k, v in variables.items() if k in declared}):
            if not has_data(api.query_range(q.expr, end - 120, end, 2)):
                missing.append(f"{name}: {q.title} [{q.ref}]: {q.expr}")
    return missing


def test_every_panel_query_of_every_dashboard_returns_data(tmp_path: Path) -> None:
    boards = build_dashboards([load_contract(FIXTURE)])
    assert sorted(boards) == sorted(FILES)
    binary = prometheus_bin()
    with TansuBroker() as broker:  # its own broker: a shared one would carry other tests' events and clocks
        asyncio.run(ensure_topics(broker.bootstrap))
        with worker_process(broker.url, tmp_path, "--app-id", "it-dashboards", contract=FIXTURE) as metrics_url, \
                cckpi_process("ledger-exporter", broker.url, tmp_path, "--settle-every", "1",
                              contract=FIXTURE) as exporter_url, \
                prometheus(binary, [hostport(metrics_url), hostport(exporter_url)], tmp_path) as prom, \
                PrometheusApi(prom) as api:
            wait_until_past_midnight(minutes=3)  # yesterday's day windows close at midnight + grace (ticket clock)
            now = datetime.now(TZ)
            start = now - timedelta(seconds=SIM_SECONDS)
            start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)  # windows match the dips
            sim_log, sim_started = (tmp_path / "simulate.log").open("wb"), time.time()
            sim = subprocess.Popen(
                [sys.executable, "-m", "streams", "simulate", "-c", str(FIXTURE), "--broker", broker.url,
                 "--speed", str(SIM_SPEED), "--duration", str(SIM_SECONDS), "--start", start.isoformat(),
                 "--seed", "3", "--bad-every", "150", "--late-every", "40"],
                stdout=sim_log, stderr=subprocess.STDOUT, cwd=ROOT)
            try:
                tickets = ticket_events(now)
                asyncio.run(produce(broker.bootstrap, topics.TICKETS,
                                    [(e.ticket_id.encode(), encode_event(e)) for e in tickets]))

                # The template variables' own queries give the values to substitute.
                values: dict[str, list[str]] = {}
                for board in boards.values():
                    for name, var in template_variables(board).items():
                        selector, label = label_values_query(var["query"])
                        values.setdefault(name, [])
                        deadline = time.monotonic() + 40
                        wanted = {"general", "cards"} if name == "scope" else set()  # both queues report
                        while not (found := api.label_values(substitute(selector or "", {"contract": "hotline"}),
                                                             label)) or not wanted <= set(found):
                            assert time.monotonic() < deadline, f"variable {name}: no values for {var['query']}"
                            time.sleep(1)
                        values[name] += [v for v in found if v not in values[name]]
                assert values["contract"] == ["hotline"]
                assert {"general", "cards"} <= set(values["scope"])

                assert sim.wait(SIM_SECONDS / SIM_SPEED + 30) == 0, (tmp_path / "simulate.log").read_text()
                one = {"contract": "hotline", "scope": "general"}
                deadline = time.monotonic() + 30
                while missing := missing_panels(api, boards, one):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(2)
                assert missing == [], "panel queries without data:\n" + "\n".join(missing)
                assert missing_panels(api, boards, {"contract": "hotline", "scope": ".*"}) == []

                # A few values the panels show, checked against what the test did.
                assert api.query('cckpi_answer_rate_threshold_ratio{contract="hotline"}')[0].points[0][1] == 0.9
                missed = api.query('sum(cckpi_ticket_breaches_total{contract="hotline"})')
                assert missed[0].points[0][1] >= 3  # d2 past its resolution deadline, d6 past both of its own
                waiting = api.query("cckpi_calls_waiting")
                assert waiting and all(s.points[0][1] >= 0 for s in waiting)
                lag = api.query("cckpi_consumer_lag_messages")
                assert {s.labels["topic"] for s in lag} >= {topics.CALLS, topics.TICKETS}
                delay = api.query("histogram_quantile(0.95, sum by (le) "
                                  "(rate(cckpi_window_close_delay_seconds_bucket[5m])))")
                assert math.isfinite(delay[0].points[0][1]) and delay[0].points[0][1] < 5

                png = render_preview(boards["operations-wall.json"], prom, tmp_path / "operations-wall.png",
                                     {"contract": "hotline", "scope": ".*"}, minutes=(time.time() - sim_started) / 60)
                assert png.stat().st_size > 50_000
                if os.environ.get("CCKPI_PREVIEW_OUT"):
                    (ROOT / os.environ["CCKPI_PREVIEW_OUT"]).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(png, ROOT / os.environ["CCKPI_PREVIEW_OUT"])
            finally:
                if sim.poll() is None:
                    sim.kill()
                    sim.wait(5)
                sim_log.close()
