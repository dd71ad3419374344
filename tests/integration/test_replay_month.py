"""`cckpi replay` of real months into Kafka with a running worker: the final revision of every January window on
`cckpi.kpi-windows` equals what `cckpi compute` prints for the same files."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io import topics
from tests.integration.support import consume_until, metric, worker_process
from tests.realdata import real_data
from tools.brokers import ApacheKafkaBroker

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "contracts" / "examples" / "anonymous-bank.yaml"

pytestmark = pytest.mark.integration


def january_and_february() -> list[str]:
    """The first two real months (February's calls close January's days); skipped or failed when absent."""
    return [str(real_data("anonymous-bank-1999", name)) for name in ("01_January.txt", "02_February.txt")]


def final_january(records: list[dict]) -> dict[str, tuple]:
    latest: dict[str, dict] = {}
    for r in records:
        if r["window_start"].startswith("1999-01") and r["revision"] >= latest.get(r["key"], {"revision": -1})[
                "revision"]:
            latest[r["key"]] = r
    return {k: (r["value"], r["numerator"], r["denominator"], r["status"], r["revision"]) for k, r in latest.items()}


def test_replayed_month_equals_compute(tmp_path: Path) -> None:
    files = january_and_february()
    computed = CliRunner().invoke(app, ["compute", "-c", str(CONTRACT), "--source", "anonymous-bank", *files])
    assert computed.exit_code == 0, computed.output[-2000:]
    expected = final_january([json.loads(line) for line in computed.stdout.splitlines() if line.startswith("{")])
    assert len(expected) > 800

    with ApacheKafkaBroker() as broker, worker_process(broker.url, tmp_path, "--app-id", "it-replay", "--idle-after",
                                                      "3600", "--max-future-days", "100000",
                                                      contract=CONTRACT) as url:
        started = time.monotonic()
        replayed = CliRunner().invoke(app, ["replay", "--source", "anonymous-bank", *files, "--broker", broker.url,
                                            "--as-fast-as-possible"])
        assert replayed.exit_code == 0, replayed.output[-2000:]
        got = asyncio.run(consume_until(broker.bootstrap, topics.KPI_WINDOWS,
                                        lambda rs: final_january(rs).keys() >= expected.keys(), 240))
        print(f"replayed and processed in {time.monotonic() - started:.1f} s; "
              f"{metric(url, 'cckpi_events_total', type='call.offered'):.0f} offered calls")
    assert final_january(got) == expected
