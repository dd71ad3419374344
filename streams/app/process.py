"""Process-level behaviour of a worker: where it keeps local state, a bounded stop, and no log floods.

A worker whose broker is gone must still stop promptly when asked (Faust's graceful stop flushes the producer, which
waits for a broker that may never come back), and must not write thousands of identical client errors a minute.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STOP_DEADLINE = 8.0
"""Seconds a signalled worker gets to stop gracefully before it exits anyway (the contract is: gone within 10 s)."""
REPEAT_EVERY = 30.0
"""A repeated warning or error (same logger and message template) is logged at most once per this many seconds."""


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The worker's local state directory unless told: `$XDG_CACHE_HOME/cckpi/faust`, else `~/.cache/cckpi/faust`
    (else under the temp dir), whatever the current directory."""
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec ignores relative values
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory (e.g. a service user without one)
            base = str(Path(tempfile.gettempdir()) / f"cckpi-{os.getuid()}")
    return Path(base) / "cckpi" / "faust"


@dataclass
class Backoff:
    """Delays before restarting a failing loop: `first`, doubling up to `longest` while runs keep failing; back to
    `first` after a run that lasted `healthy` seconds (so one failure after hours of work restarts at once)."""

    first: float = 1.0
    longest: float = 10.0
    healthy: float = 60.0
    _next: float = field(default=0.0, init=False)

    def after(self, ran_for: float) -> float:
        """The delay before the next start, given how long the run that just failed lasted."""
        if ran_for >= self.healthy or not self._next:
            self._next = self.first
        delay, self._next = self._next, min(self._next * 2, self.longest)
        return delay


class RepeatLimiter(logging.Filter):
    """Lets the first of each repeated warning/error through, then one per `every` seconds saying how many were held
    back: a broker outage makes the Kafka client log the same few errors hundreds of times a second."""

    MAX_KEYS = 1024

    def __init__(self, every: float = REPEAT_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """True to log the record (possibly with a count of the held-back ones appended), False to hold it back."""
        decided = record.__dict__.get("_cckpi_repeat")
        if decided is not None:  # the same record at a second handler
            return bool(decided)
        keep = record.levelno < logging.WARNING or self._admit(record)
        record.__dict__["_cckpi_repeat"] = keep
        return keep

    def _admit(self, record: logging.LogRecord) -> bool:
        now, key = self.clock(), (record.name, record.levelno, str(record.msg))
        last, held = self._seen.get(key, (None, 0))
        if last is not None and now - last < self.every:
            self._seen[key] = (last, held + 1)
            return False
        if len(self._seen) >= self.MAX_KEYS:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.every}
        self._seen[key] = (now, 0)
        if held and last is not None:
            record.msg = f"{record.getMessage()} (and {held} more like it in the last {now - last:.0f} s)"
            record.args = None
        return True


def limit_repeats(logger: logging.Logger, limiter: logging.Filter | None = None) -> logging.Filter:
    """Attach one repeat limiter to every handler of `logger` (the root logger: all records pass its handlers)."""
    limiter = limiter or RepeatLimiter()
    for handler in logger.handlers:
        if limiter not in handler.filters:
            handler.addFilter(limiter)
    return limiter


def exit_after(seconds: float, code: int, reason: str) -> threading.Timer:
    """Exit the process with `code` after `seconds` unless it has exited by then (a daemon timer: no wait on it)."""
    def _exit() -> None:
        sys.stderr.write(f"{reason}; exiting now\n")
        sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(seconds, _exit)
    timer.daemon = True
    timer.start()
    return timer
