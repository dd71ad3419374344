"""Where batch commands read events from: an events file, or real source files through an adapter."""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from streams.adapters import AdapterError, adapter_for
from streams.core.records import Output, OutsideContract, RejectedEvent
from streams.models.decode import InvalidEvent, decode_event
from streams.models.events import Event
from streams.report.digest import InputDigest, file_digest

STDIN = "-"
"""`--events -`: read the events from standard input."""


def is_stdin(path: Path | None) -> bool:
    """True for `--events -`."""
    return path is not None and str(path) == STDIN


def read_events(path: Path, err: Console) -> list[Event]:
    """The events of a JSON-lines file (or of standard input for `-`); invalid lines are reported and skipped."""
    if is_stdin(path):
        return decode_events(sys.stdin.buffer, "<stdin>", err)
    with path.open("rb") as fh:
        return decode_events(fh, str(path), err)


def decode_events(lines: Iterable[bytes], name: str, err: Console) -> list[Event]:
    """Decode JSON lines; each invalid line is reported as `name:line: skipped: reason`, then a count."""
    events, bad = [], 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(decode_event(line))
        except InvalidEvent as exc:
            bad += 1
            err.print(f"{name}:{n}: skipped: {exc.reason}", highlight=False, markup=False, soft_wrap=True)
    if bad:
        err.print(f"{bad} invalid lines skipped", style="yellow")
    return events


def report_unjudged(outputs: Iterable[Output], err: Console) -> None:
    """Say on stderr which events the batch left out, as the stream dead-letters them (e.g. days a calendar cannot
    classify: one line per calendar, with the count and the first reason) and which it did not judge because they
    are outside a contract's effective period (one line per contract)."""
    rejected: dict[tuple[str, str], list[RejectedEvent]] = {}
    outside: dict[str, list[OutsideContract]] = {}
    for o in outputs:
        if isinstance(o, RejectedEvent):
            rejected.setdefault((o.kind, o.cause), []).append(o)
        elif isinstance(o, OutsideContract):
            outside.setdefault(o.contract, []).append(o)
    for (kind, _), found in rejected.items():
        err.print(f"skipped {_count(found)} (the worker dead-letters them as {kind}): {found[0].reason}",
                  style="yellow", highlight=False, markup=False, soft_wrap=True)
    for contract, left in outside.items():
        err.print(f"note: contract {contract}: {_count(left)} outside its effective period, not judged (first: "
                  f"{left[0].reason})", style="yellow", highlight=False, markup=False, soft_wrap=True)


def _count(items: list[RejectedEvent] | list[OutsideContract]) -> str:
    return f"{len(items)} event{'s' * (len(items) != 1)}"


def source_events(source: str, files: list[Path], timezone: str | None, err: Console) -> Iterator[Event]:
    """Events of real source files through the named adapter; its problems and skip summary go to stderr."""
    def on_problem(line: str) -> None:
        err.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)

    return adapter_for(source, timezone).read(files, on_problem)


def events_or_exit(events: Path | None, source: str | None, files: list[Path] | None, timezone: str | None,
                   err: Console) -> Iterable[Event]:
    """The events of `--events FILE.jsonl` or of `--source NAME FILE...`; exit 2 unless exactly one is given."""
    if (events is None) == (source is None) or (source is None and files) or (source is not None and not files):
        err.print("error: give either --events FILE.jsonl (or - for standard input) or --source NAME FILE... "
                  "(exactly one)", style="red", soft_wrap=True)
        raise typer.Exit(2)
    return read_events(events, err) if events is not None else source_events(source or "", files or [], timezone, err)


@contextlib.contextmanager
def adapter_errors_exit(err: Console) -> Iterator[None]:
    """Turn an adapter's error (a file of the wrong format) into a clear message and exit 2."""
    try:
        yield
    except AdapterError as exc:
        err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def digested_events(events: Path | None, source: str | None, files: list[Path] | None, timezone: str | None,
                    err: Console) -> tuple[Iterable[Event], list[InputDigest]]:
    """The events of `--events FILE` (`-`: standard input, read once for both) or `--source NAME FILE...`, and the
    digests of the files they come from (for a statement's inputs); exit 2 as `events_or_exit` does."""
    if is_stdin(events):
        raw = sys.stdin.buffer.read()
        digest = InputDigest(STDIN, "events", len(raw), hashlib.sha256(raw).hexdigest())
        return decode_events(raw.splitlines(), "<stdin>", err), [digest]
    digests = [file_digest(p, "events" if events else "source") for p in ([events] if events else files or [])]
    return events_or_exit(events, source, files, timezone, err), digests
