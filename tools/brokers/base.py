"""Common machinery of the test and bench brokers: a raw metadata probe, process lifecycle, restarts.

A broker runs as its own process group in a throw-away directory; ``start()`` returns only once the
broker answers a Kafka Metadata request, ``stop()`` kills the whole group and deletes the directory.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import ctypes
import io
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from streams.demo.broker import LOOPBACK, free_port

__all__ = [
    "BrokerError",
    "BrokerStartError",
    "LocalBroker",
    "free_port",
    "probe_metadata",
    "wait_for_metadata",
]

# Kafka protocol bits used by the probe (request header v1 / response header v0, non-flexible versions).
_API_METADATA = 3
_API_VERSIONS = 18
_METADATA_MIN_PROBE, _METADATA_MAX_PROBE = 4, 8  # same non-flexible wire shape; 0-3 are gone in Kafka 4

# How a lost race for an auto-chosen port shows in broker logs (Java, Rust).
_PORT_CONFLICT = re.compile(r"Address already in use|Address in use|AddrInUse|failed to bind", re.IGNORECASE)


class BrokerError(RuntimeError):
    """Raised when a local broker cannot be prepared, started or reached."""


class BrokerStartError(BrokerError):
    """Raised when a broker process dies or does not answer in time; the message ends with its log tail."""


def _kafka_string(value: str | None) -> bytes:
    """Encode a nullable Kafka STRING (int16 length prefix)."""
    if value is None:
        return struct.pack(">h", -1)
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def _roundtrip(sock: socket.socket, api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    """Send one request with header v1 and return the response body after the correlation id."""
    header = struct.pack(">hhi", api_key, version, correlation_id) + _kafka_string("cckpi-probe")
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    data = _recv_exact(sock, size)
    (got_id,) = struct.unpack(">i", data[:4])
    if got_id != correlation_id:
        raise BrokerError(f"probe: correlation id {got_id} != {correlation_id}")
    return data[4:]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes or raise ConnectionError."""
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def probe_metadata(host: str, port: int, timeout: float = 2.0) -> int:
    """Ask the broker for cluster metadata (ApiVersions, then Metadata v4-8) and return its broker count.

    Raises OSError/ConnectionError when nothing answers and BrokerError on an unexpected answer.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        body = io.BytesIO(_roundtrip(sock, _API_VERSIONS, 0, 1, b""))
        error_code, count = struct.unpack(">hi", body.read(6))
        if error_code != 0:
            raise BrokerError(f"probe: ApiVersions error {error_code}")
        versions: dict[int, tuple[int, int]] = {}
        for _ in range(count):
            key, low, high = struct.unpack(">hhh", body.read(6))
            versions[key] = (low, high)
        low, high = versions.get(_API_METADATA, (-1, -1))
        version = min(high, _METADATA_MAX_PROBE)
        if version < max(low, _METADATA_MIN_PROBE):
            raise BrokerError(f"probe: broker Metadata versions {low}-{high} outside {_METADATA_MIN_PROBE}-8")
        request = struct.pack(">i?", 0, False)  # no topics, no auto-creation
        if version >= 8:
            request += struct.pack(">??", False, False)  # no authorized-operations lists
        body = io.BytesIO(_roundtrip(sock, _API_METADATA, version, 2, request))
        _throttle, brokers = struct.unpack(">ii", body.read(8))
        return int(brokers)


def wait_for_metadata(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until the broker at host:port lists at least one broker in a Metadata response."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if probe_metadata(host, port, timeout=min(2.0, max(0.1, deadline - time.monotonic()))) > 0:
                return
        except (OSError, BrokerError, struct.error) as exc:
            last = exc
        time.sleep(0.1)
    raise BrokerError(f"no metadata from {host}:{port} within {timeout:.0f}s (last error: {last!r})")


def _tail(path: Path, lines: int) -> str:
    """Return the last ``lines`` lines of a text file, or '' if it does not exist."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child (before exec): ask Linux to SIGTERM it when the parent dies, so no broker is orphaned."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


_OWNER_FILE = "owner.pid"


def _pid_alive(pid: int) -> bool:
    """True if a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_stale_workdirs(kind: str) -> None:
    """Delete temp dirs left by owners that were killed (SIGKILL skips ``stop()``); live owners' dirs stay."""
    for path in Path(tempfile.gettempdir()).glob(f"cckpi-{kind}-*"):
        try:
            owner = int((path / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if not _pid_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


_LIVE: weakref.WeakSet[LocalBroker] = weakref.WeakSet()


@atexit.register
def _stop_live_brokers() -> None:
    """Stop brokers still running when the interpreter exits normally."""
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop()


class LocalBroker(abc.ABC):
    """A Kafka-compatible broker process on a loopback port, started and owned by this Python process."""

    #: Human-readable kind, used in messages.
    kind: str = "broker"
    #: How many times ``start()`` retries on new ports when the chosen ones were taken meanwhile.
    port_retries: int = 3

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOOPBACK,
        startup_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        env: Mapping[str, str | None] | None = None,
    ) -> None:
        """Configure (not start) a broker; ``port=None`` picks a free port at start time.

        ``env`` is merged over ``os.environ`` for the broker process; a None value removes the variable.
        """
        self.host = host
        self._requested_port = port
        self._port: int | None = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_env: dict[str, str | None] = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self.startup_seconds: float | None = None

    # -- to implement -----------------------------------------------------------------------------

    @abc.abstractmethod
    def _command(self, workdir: Path) -> Sequence[str]:
        """Return the argv that runs the broker in the foreground (after ``_prepare``)."""

    def _prepare(self, workdir: Path) -> None:  # noqa: B027 - optional hook
        """Write config files or format storage in ``workdir`` before the broker process starts."""

    def _choose_ports(self) -> None:
        """Pick any free ports not given by the caller (subclasses add more ports)."""
        self._port = self._requested_port or free_port(self.host)

    def _log_files(self, workdir: Path) -> list[Path]:
        """Files whose tails explain a failed start (console output first)."""
        return [workdir / "console.log"]

    # -- public API -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The broker's client port (known once started, or when given explicitly)."""
        if self._port is None:
            raise BrokerError(f"{self.kind}: port not chosen yet; call start() first")
        return self._port

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers for Kafka clients, e.g. ``127.0.0.1:40123``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Broker URL in Faust's form, e.g. ``kafka://127.0.0.1:40123``."""
        return f"kafka://{self.bootstrap}"

    @property
    def workdir(self) -> Path | None:
        """Temporary directory with config, data and logs while running (deleted by ``stop()``)."""
        return self._workdir

    @property
    def pid(self) -> int | None:
        """Process id of the broker (also its process group id) while running."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of each broker log file, for error messages."""
        if self._workdir is None:
            return ""
        parts = []
        for path in self._log_files(self._workdir):
            text = _tail(path, lines)
            if text.strip():
                parts.append(f"--- {path.name} (last {lines} lines) ---\n{text}")
        return "\n".join(parts) or "(broker wrote no log)"

    def start(self) -> Self:
        """Start the broker and return once it answers a Metadata request; raise BrokerStartError if not."""
        if self.running:
            return self
        began = time.monotonic()
        attempts = 1 if self._requested_port else self.port_retries
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
            except BrokerStartError as exc:
                if attempt < attempts and _PORT_CONFLICT.search(str(exc)):
                    continue  # lost a port race: retry on fresh ports
                raise
            self.startup_seconds = time.monotonic() - began
            return self
        raise AssertionError("unreachable")

    def _start_once(self) -> None:
        """One start attempt on freshly chosen ports; cleans up after itself on failure."""
        self._choose_ports()
        _reap_stale_workdirs(self.kind)
        self._workdir = Path(tempfile.mkdtemp(prefix=f"cckpi-{self.kind}-"))
        (self._workdir / _OWNER_FILE).write_text(str(os.getpid()))
        try:
            self._prepare(self._workdir)
            self._spawn(self._workdir)
            _LIVE.add(self)
            self._wait_ready()
        except BaseException as exc:
            tail = self.log_tail()
            self.stop()
            if isinstance(exc, BrokerStartError):
                raise
            if isinstance(exc, Exception):
                raise BrokerStartError(f"{self.kind} failed to start: {exc}\n{tail}") from exc
            raise

    def _spawn(self, workdir: Path) -> None:
        """Run the broker process in `workdir` (already prepared)."""
        console = (workdir / "console.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                list(self._command(workdir)),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                start_new_session=True,  # own process group: stop() kills everything it spawned
                # Die with the parent; only from the main thread, since PDEATHSIG fires on thread exit.
                preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )
        finally:
            console.close()

    def restart(self, down_for: float = 0.0) -> None:
        """A broker outage: stop the process (its data stays), wait `down_for` seconds, start it again on the same
        ports and return once it answers."""
        if self._proc is None or self._workdir is None:
            raise BrokerError(f"{self.kind}: not running")
        _terminate_group(self._proc, self.stop_timeout)
        self._proc = None
        time.sleep(down_for)
        self._spawn(self._workdir)
        self._wait_ready()

    def _environment(self) -> dict[str, str]:
        """Environment of the broker process."""
        env = dict(os.environ)
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def _wait_ready(self) -> None:
        """Poll until the broker answers metadata, failing fast if the process exits."""
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise BrokerStartError(
                    f"{self.kind} on {self.bootstrap} exited with code {code} during startup\n{self.log_tail()}"
                )
            try:
                if probe_metadata(self.host, self.port, timeout=1.0) > 0:
                    return
            except (OSError, BrokerError, struct.error):
                pass
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"{self.kind} on {self.bootstrap} did not answer a Metadata request within "
                    f"{self.startup_timeout:.0f}s\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the broker's process group (SIGTERM, then SIGKILL) and delete its directory."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate_group(proc, self.stop_timeout)
        _LIVE.discard(self)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if self._requested_port is None:
            self._port = None

    def __enter__(self) -> Self:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a ``with`` block."""
        self.stop()

    def __repr__(self) -> str:
        """Show kind, address and state."""
        where = f"{self.host}:{self._port}" if self._port else "unstarted"
        return f"<{type(self).__name__} {where} {'running' if self.running else 'stopped'}>"


def _terminate_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group led by ``proc``, wait up to ``timeout``, then SIGKILL what is left."""
    pgid = proc.pid  # start_new_session=True makes the child its group leader
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # Leader is gone; make sure no other member of the group survives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)
