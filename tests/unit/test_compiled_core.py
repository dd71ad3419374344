"""The compiled core (mypyc, `make compiled`) gives the same outputs as its Python source on the same events: two
worker processes, one on each (CCKPI_PURE_PYTHON=1), run generated streams of every family (shuffled, duplicated,
with undecodable messages) through the stream shell and `compute`, and every message, store write (state bytes),
metric (but creation times) and record must be equal. Skipped where no compiled build is present (`make test`
builds it)."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.compiled import MANIFEST, PURE_ENV, compiled_present, source_digest, why_stale
from streams.contracts import load_contract
from streams.models.decode import encode_event
from streams.models.families import family_of, routing_key
from streams.sim.families import simulate_families, world_of
from tests.helpers import at

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "contracts" / "examples" / "demo-centre.yaml"
"""A term for each family (calls, tickets, surveys, availability)."""
PARTITIONS = 3
WALL = 2e9
BAD = b"not json"
FAMILIES = ("calls", "tickets", "surveys", "availability")

needs_build = pytest.mark.skipif(not compiled_present(), reason="no compiled core: run `make compiled`")


class Worker:
    """A `tests.compiled_worker` process: one stream in, its outputs out, as JSON lines."""

    def __init__(self, pure: bool) -> None:
        # one hash seed: the order of sets (of series, say) is then the same in both
        env = {**os.environ, PURE_ENV: "1" if pure else "0", "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.compiled_worker"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, stream: dict[str, object]) -> dict[str, object]:
        """The worker's outputs for one stream."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(stream) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the worker died"
        result: dict[str, object] = json.loads(line)
        return result

    def close(self) -> None:
        """End the worker (it exits when its input closes)."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Worker, Worker]]:
    compiled, pure = Worker(pure=False), Worker(pure=True)
    yield compiled, pure
    compiled.close()
    pure.close()


def stream(seed: int, hours: float, families: list[str], delay: float, repeats: float, batch: int) -> dict[str, object]:
    """Simulated events of the families as (topic, key, value) messages: each delayed by up to `delay` seconds of
    event time (late ones revise closed windows), a share `repeats` sent twice, and one undecodable message."""
    rng = random.Random(seed)
    events = list(simulate_families(families, world_of([load_contract(CONTRACT)]), at("08:00"), hours * 3600, seed,
                                    "equal"))
    events.sort(key=lambda e: e.occurred_at.timestamp() + rng.uniform(0, delay))
    messages = [(family_of(e).topic, routing_key(e), base64.b64encode(encode_event(e)).decode()) for e in events]
    messages += [rng.choice(messages) for _ in range(int(len(messages) * repeats))] if messages else []
    messages.insert(rng.randrange(len(messages) + 1), ("cckpi.calls", "general", base64.b64encode(BAD).decode()))
    return {"messages": messages, "batch": batch}


@needs_build
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), hours=st.sampled_from([1.0, 3.0, 6.0]),
       families=st.lists(st.sampled_from(FAMILIES), min_size=1, max_size=4, unique=True),
       delay=st.sampled_from([0.0, 600.0, 4 * 3600.0]), repeats=st.sampled_from([0.0, 0.05]),
       batch=st.sampled_from([7, 500, 5000]))
def test_compiled_and_python_cores_give_identical_outputs(workers: tuple[Worker, Worker], seed: int, hours: float,
                                                          families: list[str], delay: float, repeats: float,
                                                          batch: int) -> None:
    compiled_worker, pure_worker = workers
    given_stream = stream(seed, hours, families, delay, repeats, batch)
    compiled, pure = compiled_worker.run(given_stream), pure_worker.run(given_stream)
    assert (compiled.pop("compiled"), pure.pop("compiled")) == (True, False)
    assert pure["writes"]  # the stream did reach the core: states were stored
    for part in ("records", "sends", "writes", "metrics"):
        assert compiled[part] == pure[part], part


@needs_build
def test_the_build_matches_its_sources() -> None:
    assert why_stale() is None


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    package = tmp_path / "streams"
    for sub in ("core", "models", "contracts", "calendar", "queueing"):
        shutil.copytree(ROOT / "streams" / sub, package / sub,
                        ignore=shutil.ignore_patterns("*.so", "__pycache__", MANIFEST.name))
    assert why_stale(package) == f"{MANIFEST.name} is missing or unreadable"
    (package / "core" / MANIFEST.name).write_text(json.dumps({"source_digest": source_digest(package)}))
    assert why_stale(package) is None
    windows = package / "core" / "windows.py"
    windows.write_text(windows.read_text() + "\n# edited\n")
    assert why_stale(package) == "its sources changed since it was built (make compiled)"
