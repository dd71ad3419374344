"""Process-level behaviour of a worker: where it keeps local state, a bounded stop, and its logs.

A worker whose broker is gone must still stop promptly when asked (Faust's graceful stop flushes the producer, which
waits for a broker that may never come back), and must not write thousands of identical client errors a minute.
Logs are text or JSON lines (`--log-format`), set up here for the worker (`configure_handlers`, on Faust's root
logger) and for every other long-running command (`setup_logging`), so both write the same lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

STOP_DEADLINE = 8.0
"""Seconds a signalled worker gets to stop gracefully before it exits anyway (the contract is: gone within 10 s)."""
REPEAT_EVERY = 30.0
"""A repeated warning or error (same logger and message template) is logged at most once per this many seconds."""
LOG_FORMATS = ("text", "json")
"""`--log-format`: `text` (one human-readable line per record) or `json` (one JSON object per line)."""
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


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


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts` (ISO 8601, UTC), `level`, `logger`, `message`, then the record's extra fields
    (`log.info(..., extra={...})`) and `exc` (the traceback, escaped into the line) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; values JSON cannot hold are written as their `str`."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of `--log-format` (`text` or `json`); anything else is a bug of the caller (the CLI checks it)."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")


def configure_handlers(logger: logging.Logger, log_format: str, limiter: logging.Filter | None = None) -> None:
    """Every handler of `logger` writes `log_format` lines and holds back repeats (the worker calls this on the root
    logger Faust has just set up)."""
    formatter = log_formatter(log_format)
    for handler in logger.handlers:
        handler.setFormatter(formatter)
    limit_repeats(logger, limiter)


class _CommandHandler(logging.StreamHandler):
    """The handler `setup_logging` adds (known by its class, so calling it again replaces it instead of doubling)."""


def setup_logging(level: str, log_format: str, stream: TextIO | None = None) -> logging.Logger:
    """Log records of `level` and above to `stream` (stderr) as `log_format` lines, repeats held back: the logging of
    a long-running command other than the worker (whose logging Faust sets up). Returns the root logger."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CommandHandler)]:
        root.removeHandler(old)
    handler = _CommandHandler(stream or sys.stderr)
    handler.setFormatter(log_formatter(log_format))
    handler.addFilter(RepeatLimiter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return root
