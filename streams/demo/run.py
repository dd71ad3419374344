"""`cckpi demo`: a broker, a worker and the simulator as child processes, and a live view of the result.

Everything it starts lives in its own process group and is stopped on exit or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.live import Live

from streams.app import topics
from streams.app.admin import ensure_topics
from streams.app.settings import bootstrap_servers
from streams.brokers import LocalBroker, free_port, start_best_broker
from streams.demo.view import Snapshot, render, scrape


@dataclass(frozen=True)
class DemoOptions:
    """What `cckpi demo` runs."""

    contract: Path
    duration: float | None = None
    metrics_port: int | None = None
    broker: str | None = None
    real_kafka: bool = False
    speed: float = 60.0
    alertmanager_url: str | None = None


class Child:
    """A `cckpi` sub-command in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams", *args], stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL what is left."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        """Last lines of its log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def _watch(opts: DemoOptions, bootstrap: str, metrics_url: str, children: list[Child],
                 console: Console) -> int:
    recent: deque[dict[str, Any]] = deque(maxlen=8)
    consumer = AIOKafkaConsumer(topics.BREACHES, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    deadline = None if opts.duration is None else time.monotonic() + opts.duration
    snap, last_print = Snapshot(), 0.0
    title = f"cckpi demo: {opts.contract.name}, simulated x{opts.speed:g}, metrics at {metrics_url}"
    try:
        with Live(render(snap, recent, title), console=console, auto_refresh=False,
                  transient=False) if console.is_terminal else contextlib.nullcontext() as live:
            while deadline is None or time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    recent.extendleft(orjson.loads(m.value) for m in messages if m.value)
                with contextlib.suppress(OSError):
                    snap = await asyncio.to_thread(scrape, metrics_url)
                for child in children:
                    if not child.alive() and child.name == "worker":
                        console.print(f"[red]the worker stopped:[/red]\n{child.tail()}")
                        return 1
                if live is not None:
                    live.update(render(snap, recent, title), refresh=True)
                elif time.monotonic() - last_print > 5:
                    last_print = time.monotonic()
                    c = snap.counters
                    console.print(f"events {c.get('cckpi_events_total', 0):g}, windows "
                                  f"{c.get('cckpi_windows_closed_total', 0):g}, breaches "
                                  f"{sum(snap.breaches.values()):g}, dead letters "
                                  f"{c.get('cckpi_dead_letters_total', 0):g}", highlight=False)
        if live is None:
            console.print(render(snap, recent, title))
    finally:
        await consumer.stop()
    return 0


def run_demo(opts: DemoOptions) -> int:
    """Run the whole pipeline locally until the duration ends or Ctrl-C; return the exit code."""
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="cckpi-demo-"))
    broker: LocalBroker | None = None
    children: list[Child] = []
    try:
        if opts.broker is None:
            with console.status("starting a local Kafka broker"):
                broker = start_best_broker(prefer="kafka" if opts.real_kafka else "tansu")
            url = broker.url
            console.print(f"broker: {broker.kind} at {broker.bootstrap}", highlight=False)
        else:
            url = opts.broker
        bootstrap = bootstrap_servers(url)
        asyncio.run(ensure_topics(bootstrap))
        port = opts.metrics_port or free_port()
        contract = str(opts.contract)
        children.append(Child("worker", ["worker", "-c", contract, "--broker", url, "--metrics-port", str(port),
                                         "--data-dir", str(workdir / "faust"), "--idle-after", "3",
                                         "--app-id", "cckpi-demo",
                                         *(["--alertmanager-url", opts.alertmanager_url]
                                           if opts.alertmanager_url else [])], workdir))
        children.append(Child("simulator", ["simulate", "-c", contract, "--broker", url, "--speed", str(opts.speed),
                                            "--bad-every", "400", "--late-every", "150"], workdir))
        return asyncio.run(_watch(opts, bootstrap, f"http://127.0.0.1:{port}/metrics", children, console))
    except KeyboardInterrupt:
        return 0
    finally:
        with console.status("stopping"):
            for child in reversed(children):
                child.stop()
            if broker is not None:
                broker.stop()
            shutil.rmtree(workdir, ignore_errors=True)
