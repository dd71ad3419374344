"""Process-level defaults of the worker and the demo: no dependence on the current directory, no log floods, the
example contracts inside the package, credentials to children by environment."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

from streams.app.process import Backoff, RepeatLimiter, default_data_dir, limit_repeats
from streams.contracts.loader import load_contracts
from streams.demo import example_contract
from streams.demo.run import worker_env
from streams.sinks.credentials import HttpCredentials

ROOT = Path(__file__).parents[2]


def record(msg: str, *args: object, level: int = logging.ERROR, name: str = "aiokafka.conn") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeated_errors_pass_once_per_interval_with_a_count() -> None:
    now = [0.0]
    limiter = RepeatLimiter(every=30, clock=lambda: now[0])
    passed = []
    for i in range(300):  # 10 s of a broker outage at 30 errors/s
        now[0] = i / 30
        r = record("Unable connect to node with id %s: %s", 1, f"attempt {i}")
        if limiter.filter(r):
            passed.append(r.getMessage())
    assert passed == ["Unable connect to node with id 1: attempt 0"]
    now[0] = 31.0
    late = record("Unable connect to node with id %s: %s", 1, "attempt 301")
    assert limiter.filter(late)
    assert late.getMessage() == "Unable connect to node with id 1: attempt 301 (and 299 more like it in the last 31 s)"
    assert limiter.filter(record("Unable to update metadata from %s", [1]))  # another message: its own budget
    assert all(limiter.filter(record("restored partitions %s", i, level=logging.INFO)) for i in range(5))


def test_one_limiter_decides_once_per_record_across_handlers() -> None:
    logger = logging.Logger("t")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, r: logging.LogRecord) -> None:
            seen.append(r.getMessage())

    logger.addHandler(Keep())
    logger.addHandler(Keep())
    limit_repeats(logger)
    for _ in range(3):
        logger.error("broker down")
    assert seen == ["broker down", "broker down"]


def test_default_data_dir_ignores_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_data_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "cckpi" / "faust"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for env in ({}, {"XDG_CACHE_HOME": "relative/cache"}):  # a relative XDG value is invalid: ignored
        assert default_data_dir(env) == tmp_path / "home" / ".cache" / "cckpi" / "faust"


def test_example_contracts_ship_inside_the_package() -> None:
    demo = example_contract()
    assert demo.is_absolute() and demo.samefile(ROOT / "contracts" / "examples" / "demo.yaml")  # one copy
    assert [c.id for c in load_contracts([demo])] == ["demo"]
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.yaml" in package_data["streams.contracts.examples"]  # so a wheel carries them


def test_demo_gives_the_worker_credentials_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKPI_ALERTMANAGER_TOKEN", "stale")
    monkeypatch.setenv("CCKPI_ALERTMANAGER_PASSWORD_FILE", "/stale")
    env = worker_env(HttpCredentials("alice", "s3cret"))
    assert env["CCKPI_ALERTMANAGER_USERNAME"] == "alice" and env["CCKPI_ALERTMANAGER_PASSWORD"] == "s3cret"
    assert "CCKPI_ALERTMANAGER_TOKEN" not in env and "CCKPI_ALERTMANAGER_PASSWORD_FILE" not in env
    assert not any(k.startswith("CCKPI_ALERTMANAGER_") for k in worker_env(None))


def test_a_failing_loop_restarts_ever_later_until_it_runs_well() -> None:
    backoff = Backoff(first=1, longest=10, healthy=60)
    assert [backoff.after(0.5) for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff.after(3600) == 1 and backoff.after(0.1) == 2
