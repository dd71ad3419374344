"""Builds the compiled core (mypyc) into the wheel; `python setup.py inplace` (make compiled) builds it beside the
sources. The modules and the staleness guard are defined in streams/compiled.py; metadata is in pyproject.toml.

An editable install (`pip install -e`) and CCKPI_PURE_PYTHON=1 build no extension: the Python source runs as is.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from setuptools import Distribution, Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent
COMPILED: dict[str, Any] = runpy.run_path(str(ROOT / "streams" / "compiled.py"))
"""streams/compiled.py's names (run by path: importing `streams` would choose a core)."""


def extensions() -> list[Extension]:
    """The mypyc extensions of the compiled core (type-checked against the project's mypy configuration)."""
    from mypyc.build import mypycify

    sources = [f"streams/core/{name}.py" for name in COMPILED["MODULES"]]
    return list(mypycify(sources, opt_level="3", group_name="streams.core._compiled"))  # its shared library there


class BuildWithManifest(build_ext):
    """build_ext that also writes core/compiled.json: the digest of the sources the extensions come from."""

    def run(self) -> None:
        """Build the extensions, then record what they were built from beside them."""
        super().run()
        out = ROOT / "streams" if self.inplace else Path(self.build_lib) / "streams"
        manifest = out / "core" / COMPILED["MANIFEST"].name
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"source_digest": COMPILED["source_digest"](ROOT / "streams")}) + "\n")


def wanted() -> bool:
    """Compile unless this is an editable install or the pure core is asked for."""
    return "editable_wheel" not in sys.argv and os.environ.get(COMPILED["PURE_ENV"], "") in ("", "0")


if __name__ == "__main__" and sys.argv[1:] == ["inplace"]:
    # make compiled: without setup()'s reading of pyproject.toml, so any setuptools of the dev venv builds it
    os.chdir(ROOT)
    dist = Distribution({"name": "cckpi-core", "ext_modules": extensions(),
                         "cmdclass": {"build_ext": BuildWithManifest},
                         "script_args": ["build_ext", "--inplace", "--build-temp", "build/compiled",
                                     "--build-lib", "build/compiled/lib"]})
    dist.parse_command_line()
    dist.run_commands()
else:
    setup(ext_modules=extensions() if wanted() else [], cmdclass={"build_ext": BuildWithManifest})
