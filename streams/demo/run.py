"""`cckpi demo`: a broker, a worker and the simulator as child processes, and a live view of the result.

Everything it starts lives in its own process group and is stopped on exit, Ctrl-C or SIGTERM; on Linux the children
also die with the demo when it is killed outright (SIGKILL), so nothing keeps running against a dead broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.live import Live

from streams.contracts import load_contract
from streams.demo.broker import (
    LOOPBACK,
    EmbeddedBrokerError,
    free_port,
    tansu_args,
    tansu_binary,
    tansu_environment,
    wait_accepting,
)
from streams.demo.view import Snapshot, remember, render, scrape
from streams.kafka_io import topics
from streams.kafka_io.admin import ensure_topics
from streams.kafka_io.connect import bootstrap_servers
from streams.sim.families import DEMO_FAMILIES, families_option
from streams.sinks.alertmanager import CREDENTIALS_ENV
from streams.sinks.credentials import HttpCredentials, redact_url

_PR_SET_PDEATHSIG = 1
SIMULATED_CLOCK = ("--max-future", "36500d")
"""The demo's simulator runs `speed` times faster than the wall clock, so its events are ever further ahead of it:
its worker trusts them (a worker of real sources keeps the default of one minute)."""


DEMO_CONTRACT = "demo-centre.yaml"
"""The contract `cckpi demo` checks by default: a term for every event family the demo feeds."""


def example_contract(name: str = "demo.yaml") -> Path:
    """An example contract shipped inside the package (`streams/contracts/examples`), found from any directory."""
    return Path(str(resources.files("streams.contracts") / "examples" / name))


@dataclass(frozen=True)
class DemoOptions:
    """What `cckpi demo` runs."""

    contract: Path
    duration: float | None = None
    metrics_port: int | None = None
    broker: str | None = None
    speed: float = 60.0
    alertmanager_url: str | None = None
    """Without userinfo: credentials go in `alertmanager_credentials` (to the worker's environment, not its argv)."""
    alertmanager_credentials: HttpCredentials | None = None
    start: str | None = None
    """Simulated start, ISO 8601 (None: now, to the quarter): e.g. shortly before midnight to see day windows close."""


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes Linux SIGKILL the child when this process dies, however it dies (None elsewhere).

    libc is loaded here, before the fork; the child only calls into it, and exits at once if the parent is already
    gone (it died between the fork and the request)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


CCKPI = (sys.executable, "-m", "streams")


class Child:
    """A `cckpi` sub-command (or another `program`) in its own process group, logging to a file, killed with the
    demo."""

    def __init__(self, name: str, args: list[str], logdir: Path, env: Mapping[str, str] | None = None,
                 program: Sequence[str] = CCKPI) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen([*program, *args], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                     env=None if env is None else dict(env), preexec_fn=die_with_parent())

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def terminate(self) -> None:
        """SIGTERM the group (without waiting), so several children stop at the same time."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

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
    latest: dict[str, Mapping[str, Any]] = {}
    tz = ZoneInfo(load_contract(opts.contract).timezone)
    consumer = AIOKafkaConsumer(topics.BREACHES, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    deadline = None if opts.duration is None else time.monotonic() + opts.duration
    snap, last_print = Snapshot(), 0.0
    title = f"{opts.contract.stem} x{opts.speed:g}"
    console.print(f"worker metrics: {metrics_url}", highlight=False)
    try:
        with Live(render(snap, latest, title, tz, console.size.height), console=console, auto_refresh=False,
                  transient=False) if console.is_terminal else contextlib.nullcontext() as live:
            while deadline is None or time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    remember(latest, (orjson.loads(m.value) for m in messages if m.value))
                with contextlib.suppress(OSError):
                    snap = await asyncio.to_thread(scrape, metrics_url)
                for child in children:
                    if not child.alive() and child.name == "worker":
                        console.print(f"[red]the worker stopped:[/red]\n{child.tail()}")
                        return 1
                if live is not None:
                    live.update(render(snap, latest, title, tz, console.size.height), refresh=True)
                elif time.monotonic() - last_print > 5:
                    last_print = time.monotonic()
                    c = snap.counters
                    console.print(f"events {c.get('cckpi_events_total', 0):g}, windows "
                                  f"{c.get('cckpi_windows_closed_total', 0):g}, breaches "
                                  f"{sum(snap.breaches.values()):g}, dead letters "
                                  f"{c.get('cckpi_dead_letters_total', 0):g}", highlight=False)
        if live is None:
            console.print(render(snap, latest, title, tz))
    finally:
        await consumer.stop()
    return 0


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (`timeout`, systemd, a container stop) interrupts like Ctrl-C, so the clean-up runs."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM while cleaning up (which is bounded: a child gets 15 s at most), so a second Ctrl-C
    or stop request cannot leave children or the temp directory behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker_env(credentials: HttpCredentials | None) -> dict[str, str]:
    """The worker's environment: ours, with the Alertmanager credentials (if any) as variables rather than argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(f"{CREDENTIALS_ENV}_")}
    return env | (credentials.env(CREDENTIALS_ENV) if credentials else {})


def start_embedded_broker(logdir: Path, attempts: int = 3, timeout: float = 20.0) -> tuple[Child, str]:
    """Tansu on a free loopback port, with its URL, once it accepts connections; a port taken by another process
    meanwhile (tansu then exits) is retried on a fresh one. Raises EmbeddedBrokerError without the `demo` extra."""
    program = (tansu_binary(),)
    for _ in range(attempts):
        port = free_port()
        broker = Child("broker", tansu_args(port), logdir, tansu_environment(), program)
        try:
            if wait_accepting(LOOPBACK, port, broker.alive, timeout):
                return broker, f"kafka://{LOOPBACK}:{port}"
        except BaseException:  # Ctrl-C or SIGTERM while it starts: it is stopped too
            broker.stop()
            raise
        broker.stop()
    raise EmbeddedBrokerError(f"the embedded broker (tansu) did not start: {broker.tail(3)}")


def simulator_args(opts: DemoOptions, broker_url: str) -> list[str]:
    """`cckpi simulate` as the demo runs it: every event family, a few malformed and late events."""
    return ["simulate", "-c", str(opts.contract), "--broker", broker_url, "--speed", str(opts.speed),
            "--families", families_option(DEMO_FAMILIES), "--bad-every", "400", "--late-every", "150",
            *(["--start", opts.start] if opts.start else [])]


def run_demo(opts: DemoOptions) -> int:
    """Run the whole pipeline locally until the duration ends, Ctrl-C or SIGTERM; return the exit code."""
    with sigterm_as_interrupt():
        return _run(opts)


def _run(opts: DemoOptions) -> int:
    """`run_demo` inside the SIGTERM handler: start everything, watch, and always stop what was started."""
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="cckpi-demo-"))
    broker: Child | None = None
    children: list[Child] = []
    try:
        if opts.broker is None:
            with console.status("starting the embedded broker (tansu)"):
                broker, url = start_embedded_broker(workdir)
            console.print(f"broker: tansu at {bootstrap_servers(url)}", highlight=False)
        else:
            url = opts.broker
            console.print(f"broker: {redact_url(url)}", highlight=False)
        if opts.alertmanager_url:
            console.print(f"alerts to: {redact_url(opts.alertmanager_url)}", highlight=False)
        bootstrap = bootstrap_servers(url)
        asyncio.run(ensure_topics(bootstrap))
        port = opts.metrics_port or free_port()
        contract = str(opts.contract)
        children.append(Child("worker", ["worker", "-c", contract, "--broker", url, "--metrics-port", str(port),
                                         "--data-dir", str(workdir / "faust"), "--idle-after", "3",
                                         "--app-id", "cckpi-demo", *SIMULATED_CLOCK,
                                         *(["--alertmanager-url", opts.alertmanager_url]
                                           if opts.alertmanager_url else [])], workdir,
                              env=worker_env(opts.alertmanager_credentials)))
        children.append(Child("simulator", simulator_args(opts, url), workdir))
        return asyncio.run(_watch(opts, bootstrap, f"http://127.0.0.1:{port}/metrics", children, console))
    except KeyboardInterrupt:
        return 0
    finally:
        with uninterrupted(), console.status("stopping"):
            for child in reversed(children):
                child.terminate()
            for child in reversed(children):
                child.stop()
            if broker is not None:
                broker.stop()
            shutil.rmtree(workdir, ignore_errors=True)
