"""Stopping from outside: `cckpi demo` on SIGTERM stops everything it started and removes its temp dir; killed
outright, its children die with it; a worker whose broker is gone still exits promptly on SIGTERM, without
flooding its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.integration.support import DEMO, metric
from tools.brokers import TansuBroker, free_port

pytestmark = pytest.mark.integration


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def serving(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).read()
    except OSError:
        return False
    return True


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process], Path]:
    """A demo run from an unrelated directory with its own TMPDIR; returns it once the worker serves metrics, with
    its children (broker, worker, simulator)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "streams", "demo", "--duration", "300", "--metrics-port",
                             str(port)], cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp)}, stdout=log,
                            stderr=subprocess.STDOUT)
    wait_until(lambda: proc.poll() is not None or serving(f"http://127.0.0.1:{port}/metrics"), 90,
               "the demo's worker did not come up")
    assert proc.poll() is None, (tmp_path / "demo.log").read_text()
    wait_until(lambda: len(psutil.Process(proc.pid).children()) >= 3, 30, "broker, worker and simulator")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert "worker" in {arg for c in children for arg in cmdline(c)}
    return proc, children, tmp


def cmdline(process: psutil.Process) -> list[str]:
    """Its command line, or nothing if it has exited already."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still running after `timeout` seconds (zombies count as gone)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_demo_stopped_by_sigterm_leaves_nothing_behind(tmp_path: Path) -> None:
    proc, children, tmp = start_demo(tmp_path)
    assert [p.name for p in tmp.glob("cckpi-demo-*")]
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    finally:
        for p in gone(children, 0):
            p.kill()
    assert code == 0, (tmp_path / "demo.log").read_text()
    assert gone(children, 5) == []
    assert sorted(p.name for p in tmp.glob("cckpi-*")) == []  # its temp dir and the broker's are removed


def test_children_die_with_a_killed_demo(tmp_path: Path) -> None:
    proc, children, _ = start_demo(tmp_path)
    proc.kill()
    proc.wait(10)
    left = gone(children, 5)
    for p in left:
        p.kill()
    assert left == [], [cmdline(p) for p in left]


def test_worker_exits_promptly_on_sigterm_with_its_broker_down(tmp_path: Path) -> None:
    """Also started from an empty directory without --data-dir: the default state dir does not depend on it."""
    broker = TansuBroker().start()
    port = free_port()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker", "-c", str(DEMO), "--broker", broker.url, "--metrics-port",
             str(port), "--app-id", "it-stop-signals"],
            cwd=tmp_path, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_until(lambda: proc.poll() is not None or (
            serving(url) and metric(url, "cckpi_consumer_lag_messages", topic="cckpi.calls") is not None), 90,
            "the worker did not start consuming")
        assert proc.poll() is None, log_path.read_text()[-3000:]
        assert (tmp_path / "cache" / "cckpi" / "faust").is_dir() and not (tmp_path / ".cache").exists()
        broker.stop()
        time.sleep(10)
        errors = log_path.read_text(errors="replace").count("[ERROR]")
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        code = proc.wait(15)  # the bound is 10 s; a hang fails here
        print(f"worker exited {time.monotonic() - stopped:.1f} s after SIGTERM (code {code}); "
              f"{errors} ERROR lines in 10 s of outage")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        broker.stop()
    assert errors < 100, log_path.read_text()[-3000:]  # not hundreds a second
