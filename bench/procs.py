"""Worker processes as black boxes: start `cckpi worker`, wait for /metrics, sample RSS, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

from bench.metrics import Sample, scrape
from streams.kafka_io import topics
from tools.brokers import free_port

ROOT = Path(__file__).resolve().parents[1]
BANK_CONTRACT = ROOT / "contracts" / "examples" / "anonymous-bank.yaml"


def open_ended(contract: Path, workdir: Path) -> Path:
    """A copy of `contract` in `workdir` without the end of its effective period: the shifted copies of the RSS run
    and the soak's simulated traffic go past the anonymous-bank contract's 1999, and a worker dead-letters events
    outside a contract (`outside_contract`) instead of measuring them."""
    data = yaml.safe_load(contract.read_text(encoding="utf-8"))
    data.pop("effective_until", None)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"open-ended-{contract.name}"
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def shown(path: Path) -> str:
    """A path as results record it: relative to the repository when inside it (no machine's folders in them)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


@dataclass
class Worker:
    """One running `cckpi worker` process: its pid, /metrics URL and log file."""

    proc: subprocess.Popen[bytes]
    metrics_url: str
    log: Path

    def scrape(self) -> list[Sample]:
        """Its current metrics ([] while /metrics does not answer)."""
        try:
            return scrape(self.metrics_url)
        except OSError:
            return []

    def rss(self) -> int:
        """Resident memory of the worker and its children, in bytes (0 once it has gone)."""
        return tree_rss(self.proc.pid)


def tree_rss(pid: int) -> int:
    """RSS of a process plus all its descendants."""
    return int(_tree_sum(pid, lambda p: p.memory_info().rss))


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds used so far by a process and its live descendants (0 once it has gone)."""
    return _tree_sum(pid, lambda p: sum(p.cpu_times()[:2]))


def _tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """`measure` summed over a process and its descendants, skipping any that have gone (0 if it has)."""
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += measure(p)
    return total


@contextlib.contextmanager
def worker(bootstrap: str, workdir: Path, app_id: str, *extra: str,
           contract: Path = BANK_CONTRACT, startup_timeout: float = 60.0) -> Iterator[Worker]:
    """Run one `cckpi worker` until the block ends; yields once /metrics answers."""
    with workers(bootstrap, workdir, app_id, 1, *extra, contract=contract, startup_timeout=startup_timeout) as ws:
        yield ws[0]


@contextlib.contextmanager
def workers(bootstrap: str, workdir: Path, app_id: str, count: int, *extra: str,
            contract: Path | Sequence[Path] = BANK_CONTRACT, startup_timeout: float = 60.0) -> Iterator[list[Worker]]:
    """Start `count` `cckpi worker` processes of one group at once (each its own process group, log in
    `workdir`), yield them once all serve /metrics, stop them after. The worker is the black box under test:
    only its CLI and /metrics are used. `contract` is one file or several (each its own `-c`)."""
    contract_args = [arg for c in ([contract] if isinstance(contract, Path) else contract) for arg in ("-c", str(c))]
    workdir.mkdir(parents=True, exist_ok=True)
    running: list[Worker] = []
    logs = []
    try:
        for _ in range(count):
            port = free_port()
            log_path = workdir / f"worker-{app_id}-{port}.log"
            log = log_path.open("wb")
            logs.append(log)
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker", *contract_args, "--broker", f"kafka://{bootstrap}",
                 "--metrics-port", str(port), "--data-dir", str(workdir / f"data-{app_id}-{port}"),
                 "--app-id", app_id, "--log-level", "warning", *extra],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
            running.append(Worker(proc, f"http://127.0.0.1:{port}/metrics", log_path))
        deadline = time.monotonic() + startup_timeout
        for w in running:
            _wait_serving(w, deadline)
        yield running
    finally:
        for w in running:
            stop(w.proc)
        for log in logs:
            log.close()


def _wait_serving(w: Worker, deadline: float) -> None:
    """Until the worker's /metrics answers; raises with its log tail if it exits or `deadline` passes."""
    while True:
        if w.proc.poll() is not None:
            raise RuntimeError(f"worker exited ({w.proc.returncode}):\n{w.log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(w.metrics_url, timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("worker /metrics did not come up") from None
            time.sleep(0.2)


def wait_assigned(w: Worker, timeout: float = 60.0) -> None:
    """Until the worker reports lag for a calls partition (it has joined its group), or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(n == "cckpi_consumer_lag_messages" and labels.get("topic") == topics.CALLS
               for n, labels, _ in w.scrape()):
            return
        time.sleep(0.5)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class RssSampler:
    """Samples the RSS of some processes every `interval` seconds in a thread: (wall time, bytes) per sample."""

    pids: list[int]
    interval: float = 0.5
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), sum(tree_rss(p) for p in self.pids)))
            self._stop.wait(self.interval)

    @property
    def peak(self) -> int:
        """Largest RSS sampled."""
        return max((rss for _, rss in self.samples), default=0)
