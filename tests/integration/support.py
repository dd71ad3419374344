"""Running real `cckpi worker` (and `ledger-exporter`) processes against a test broker, and reading what it produced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tools.brokers import free_port

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "contracts" / "examples" / "demo.yaml"


@contextlib.contextmanager
def worker_process(broker_url: str, workdir: Path, *extra: str, contract: Path = DEMO) -> Iterator[str]:
    """Run `cckpi worker` in its own process group; yield its /metrics URL; stop it after (its exit code then in
    `worker.exit`)."""
    with cckpi_process("worker", broker_url, workdir, "--data-dir", str(workdir / "faust"), "--log-level", "info",
                       *extra,
                       contract=contract) as url:
        yield url


@contextlib.contextmanager
def cckpi_process(command: str, broker_url: str, workdir: Path, *extra: str, contract: Path = DEMO) -> Iterator[str]:
    """Run a long-running `cckpi COMMAND` (worker, ledger-exporter) serving /metrics, in its own process group;
    yield its /metrics URL once it answers; SIGTERM it after (its exit code then in `COMMAND.exit`)."""
    port = free_port()
    log = (workdir / f"{command}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", command, "-c", str(contract), "--broker", broker_url,
         "--metrics-port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    (workdir / f"{command}.pid").write_text(str(proc.pid))  # also its process group: tests may kill it
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (workdir / f"{command}.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{command} /metrics did not come up"
                time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        (workdir / f"{command}.exit").write_text(str(proc.returncode))  # after the SIGTERM: 0 for a clean stop


def metric(url: str, name: str, **labels: str) -> float | None:
    """One sample of the worker's /metrics, or None."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url, timeout=2).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) pairs in order and wait for acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


async def consume_until(bootstrap: str, topic: str, done: object, timeout: float) -> list[dict]:
    """Read a topic from the start until `done(records)` is true or the timeout passes."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(records):  # type: ignore[operator]
            batch = await consumer.getmany(timeout_ms=500)
            records += [orjson.loads(m.value) for msgs in batch.values() for m in msgs if m.value]
    finally:
        await consumer.stop()
    return records


def run(coro: object) -> object:
    """asyncio.run for a coroutine built inline."""
    return asyncio.run(coro)  # type: ignore[arg-type]


def computed_windows(contract: Path, files: list[Path]) -> dict[str, dict]:
    """`cckpi compute` over anonymous-bank files: the last revision of each window record, by window key."""
    from typer.testing import CliRunner

    from streams.cli.main import app

    result = CliRunner().invoke(app, ["compute", "-c", str(contract), "--source", "anonymous-bank",
                                      *map(str, files)])
    assert result.exit_code == 0, result.output[-2000:]
    final: dict[str, dict] = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            final[record["key"]] = record  # the last revision of each window wins
    return final
