"""Digests of a statement's inputs (files, or the topic records read), so both parties can check they hold the
same inputs and reproduce the same statement."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InputDigest:
    """One input: its name (file path or topic), what it is, its size in bytes and its sha256."""

    name: str
    kind: str  # contract, source, events, topic
    size: int
    sha256: str


def file_digest(path: Path, kind: str) -> InputDigest:
    """sha256 of a file, read in blocks; named by its file name so digests agree across machines."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return InputDigest(path.name, kind, size, h.hexdigest())


def lines_digest(name: str, kind: str, lines: Iterable[bytes]) -> InputDigest:
    """sha256 of records as the lines of a JSON-lines file (each followed by a newline), e.g. a topic's messages."""
    h = hashlib.sha256()
    size = 0
    for line in lines:
        h.update(line + b"\n")
        size += len(line) + 1
    return InputDigest(name, kind, size, h.hexdigest())


def combined(digests: Sequence[InputDigest]) -> str:
    """One sha256 over every input's digest, in the order given (the order events are read in matters)."""
    text = "".join(f"{d.sha256}  {d.kind}  {d.name}\n" for d in digests)
    return hashlib.sha256(text.encode()).hexdigest()
