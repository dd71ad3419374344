"""Real Prometheus-family services for tests: binaries from tools/services/fetch.sh, run on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tools.brokers import free_port

REPO = Path(__file__).parents[2]
FETCH = REPO / "tools" / "services" / "fetch.sh"


@cache
def service_paths() -> dict[str, str]:
    """Paths printed by tools/services/fetch.sh (KEY=VALUE lines); fails the test (never skips) without them."""
    proc = subprocess.run(["bash", str(FETCH)], capture_output=True, text=True, timeout=900, cwd=REPO)
    if proc.returncode != 0:
        pytest.fail(f"tools/services/fetch.sh failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


@contextlib.contextmanager
def alertmanager_process(config: Path, workdir: Path) -> Iterator[str]:
    """A real Alertmanager with `config`; yields its base URL; stopped after."""
    services = service_paths()
    port = free_port()
    log_path = workdir / "alertmanager.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["bash", services["ALERTMANAGER_RUN"], f"--config.file={config}", f"--storage.path={workdir}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, **services},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"alertmanager exited {proc.returncode}:\n{log_path.read_text()}")
                try:
                    with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"alertmanager not ready in 20s:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
