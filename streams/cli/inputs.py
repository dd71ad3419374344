"""Where batch commands read events from: an events file, or real source files through an adapter."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from streams.adapters import AdapterError, adapter_for
from streams.models.decode import InvalidEvent, decode_event
from streams.models.events import Event


def read_events(path: Path, err: Console) -> list[Event]:
    events, bad = [], 0
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                events.append(decode_event(line))
            except InvalidEvent as exc:
                bad += 1
                err.print(f"{path}:{n}: skipped: {exc.reason}", highlight=False, markup=False)
    if bad:
        err.print(f"{bad} invalid lines skipped", style="yellow")
    return events


def source_events(source: str, files: list[Path], timezone: str | None, err: Console) -> Iterator[Event]:
    """Events of real source files through the named adapter; its problems and skip summary go to stderr."""
    def on_problem(line: str) -> None:
        err.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)

    return adapter_for(source, timezone).read(files, on_problem)



def events_or_exit(events: Path | None, source: str | None, files: list[Path] | None, timezone: str | None,
                   err: Console) -> Iterable[Event]:
    """The events of `--events FILE.jsonl` or of `--source NAME FILE...`; exit 2 unless exactly one is given."""
    if (events is None) == (source is None) or (source is None and files) or (source is not None and not files):
        err.print("error: give either --events FILE.jsonl or --source NAME FILE... (exactly one)", style="red")
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
