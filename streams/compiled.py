"""The compiled core: which modules of the pure core mypyc compiles, and the guard that runs their Python source
instead when the compiled build does not match it.

The Python source is the one definition of every rule; `make compiled` (in place, for tests and the bench) and a
wheel build compile the modules below to C extensions beside it and record a digest of the sources they were
compiled from (`core/compiled.json`). At import, when extensions are present but a source changed since (an edit
after `make compiled`), or `CCKPI_PURE_PYTHON=1` is set, every module below is imported from its `.py` instead:
all or none, since compiled modules call each other directly. Nothing here is imported by setup.py but this file.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

MODULES = (
    "batch", "dedupe", "effective", "forecast", "gauges", "kpis", "layout", "lifecycle", "load", "processor",
    "services", "staffing", "state", "terms", "tickets", "verdict", "windows",
)
"""The compiled modules of `streams.core` (the per-event path of every family)."""
PURE_ENV = "CCKPI_PURE_PYTHON"
"""Set to 1 to run the Python source of the core even where a compiled build matches it (development, tests)."""
PACKAGE = Path(__file__).parent
CORE = PACKAGE / "core"
MANIFEST = CORE / "compiled.json"
"""Written by the build: the digest of the sources the extensions were compiled from."""
TYPED_SOURCES = ("core", "models", "contracts", "calendar", "queueing")
"""The packages whose types mypyc compiled against (the core and all it imports): a change to any makes it stale."""


def source_digest(package: Path = PACKAGE) -> str:
    """SHA-256 of every Python source the compiled core was typed against, in path order."""
    digest = hashlib.sha256()
    for sub in TYPED_SOURCES:
        for path in sorted((package / sub).rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def compiled_present(core: Path = CORE) -> bool:
    """True when an extension module of the compiled core sits beside its source."""
    return any((core / f"{name}{suffix}").exists()
               for name in MODULES for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def why_stale(package: Path = PACKAGE) -> str | None:
    """Why the extensions present do not match the sources (the manifest is absent or its digest differs), or None."""
    manifest = package / "core" / MANIFEST.name
    try:
        built = json.loads(manifest.read_text())["source_digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{manifest.name} is missing or unreadable"
    return None if built == source_digest(package) else "its sources changed since it was built (make compiled)"


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the compiled modules of the core from their `.py` files."""

    def __init__(self, core: Path) -> None:
        self.paths = {f"streams.core.{name}": core / f"{name}.py" for name in MODULES}

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        """The source spec of a compiled module; None (the usual finders) for every other module."""
        source = self.paths.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def choose_core() -> None:
    """Run the core's Python source where its compiled build is absent, stale or not wanted (called once, by
    `streams/__init__.py`, before any core module is imported). A stale build is said once, as a warning."""
    if not compiled_present() or any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        return
    if os.environ.get(PURE_ENV, "") in ("", "0"):
        reason = why_stale()
        if reason is None:
            return
        warnings.warn(f"compiled core not used: {reason}; running its Python source", RuntimeWarning, stacklevel=2)
    sys.meta_path.insert(0, _SourceFirst(CORE))


def is_compiled() -> bool:
    """True when the core's modules in use are the compiled ones (for the bench's report and the tests)."""
    module = sys.modules.get("streams.core.processor")
    return module is not None and not (module.__file__ or "").endswith(".py")
