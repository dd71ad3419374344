"""The benchmark's Quix Streams application computes what cckpi computes: its per-window aggregate functions,
applied to the Anonymous Bank January events, give the numerators and denominators of `cckpi compute` for every
queue, day and daily term (so `cckpi_vs_quix` compares equal work)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.quix_app import add, initial, offer_time_ms
from streams.adapters import ReadStats, adapter_for
from streams.models.decode import encode_event
from tests.integration.support import computed_windows
from tests.realdata import real_data

CONTRACT = Path(__file__).parents[2] / "contracts" / "examples" / "anonymous-bank.yaml"


def quix_windows(files: list[Path]) -> dict[tuple[str, str], dict[str, float]]:
    """(queue, local day) -> the Quix app's aggregates, every event counted (no window closing)."""
    windows: dict[tuple[str, str], dict[str, float]] = {}
    for event in adapter_for("anonymous-bank", None).read(files, lambda _line: None, ReadStats()):
        value = orjson.loads(encode_event(event))
        day = datetime.fromtimestamp(offer_time_ms(value) / 1000, UTC).strftime("%Y-%m-%d")
        key = (value["queue"], day)
        windows[key] = add(windows[key], value) if key in windows else initial(value)
    return windows


def test_quix_app_aggregates_equal_cckpi_compute() -> None:
    january = [real_data("anonymous-bank-1999", "01_January.txt")]
    final = computed_windows(CONTRACT, january)
    ours: dict[tuple[str, str, str], tuple[float, float]] = {
        (r["term"], r["scope"], r["window_start"][:10]): (r["numerator"], r["denominator"])
        for r in final.values() if r["term"].endswith("-day")}
    theirs: dict[tuple[str, str, str], tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
    for (queue, day), w in quix_windows(january).items():
        handled = w["answered"] + w["abandoned"]
        theirs[("answer-rate-day", queue, day)] = (w["answered"], handled)
        theirs[("abandon-rate-day", queue, day)] = (w["abandoned"], handled)
        theirs[("service-level-20s-day", queue, day)] = (w["within"], handled)
        theirs[("asa-day", queue, day)] = (w["wait"], w["answered"])
        theirs[("avg-talk-time-day", queue, day)] = (w["talk"], w["ended"])
    assert len(ours) > 100
    mismatched = {k: (v, theirs.get(k)) for k, v in ours.items()
                  if theirs.get(k) is None or any(abs(a - b) > 1e-6 for a, b in zip(v, theirs[k], strict=True))}
    assert not mismatched, dict(list(mismatched.items())[:10])
