"""`cckpi compute` on all nine Anonymous Bank months equals an independent pandas computation of the adapter's
definitions, for every queue, day and KPI (and month for the monthly answer rate)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.integration.support import computed_windows
from tests.realdata import real_data

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "contracts" / "examples" / "anonymous-bank.yaml"

pytestmark = pytest.mark.integration


def seconds(clock: pd.Series) -> pd.Series:
    parts = clock.str.split(":", expand=True).astype(int)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def independent(months: list[Path]) -> pd.DataFrame:
    """Per queue and local day: offered, answered, abandoned, answered within 20 s, sums of waits and talk."""
    frames = [pd.read_csv(f, sep="\t", dtype=str) for f in months]
    calls = pd.concat(frames, ignore_index=True)
    calls["q_time"] = calls["q_time"].astype(int)
    calls["ser_time"] = calls["ser_time"].astype(int)
    calls = calls[(calls["outcome"] == "AGENT") | ((calls["outcome"] == "HANG") & (calls["q_time"] > 0))]
    entry, leave = seconds(calls["vru_entry"]), seconds(calls["vru_exit"])
    next_day = leave < entry - 12 * 3600  # crossed midnight in the VRU (a few seconds early is a negative vru_time)
    day = pd.to_datetime("19" + calls["date"], format="%Y%m%d") + pd.to_timedelta(next_day.astype(int), unit="D")
    agent = calls["outcome"] == "AGENT"
    frame = pd.DataFrame({
        "queue": calls["type"], "day": day.dt.strftime("%Y-%m-%d"), "month": day.dt.strftime("%Y-%m"),
        "offered": 1, "answered": agent.astype(int), "abandoned": (~agent).astype(int),
        "within20": (agent & (calls["q_time"] <= 20)).astype(int),
        "wait": calls["q_time"].where(agent, 0), "talk": calls["ser_time"].where(agent, 0),
    })
    return frame


def test_compute_equals_an_independent_computation() -> None:
    months = sorted(real_data("anonymous-bank-1999").glob("*.txt"))
    assert len(months) == 9
    final = computed_windows(CONTRACT, months)
    ours = {(r["term"], r["scope"], r["window_start"][:10 if r["term"] != "answer-rate-month" else 7]):
            (r["numerator"], r["denominator"]) for r in final.values()}

    frame = independent(months)
    daily = frame.groupby(["queue", "day"]).sum(numeric_only=True)
    expected: dict[tuple[str, str, str], tuple[float, float]] = {}
    for (queue, day), row in daily.iterrows():
        expected[("answer-rate-day", queue, day)] = (row.answered, row.offered)
        expected[("service-level-20s-day", queue, day)] = (row.within20, row.offered)
        expected[("abandon-rate-day", queue, day)] = (row.abandoned, row.offered)
        if row.answered:
            expected[("asa-day", queue, day)] = (row.wait, row.answered)
            expected[("avg-talk-time-day", queue, day)] = (row.talk, row.answered)
    for (queue, month), row in frame.groupby(["queue", "month"]).sum(numeric_only=True).iterrows():
        expected[("answer-rate-month", queue, month)] = (row.answered, row.offered)

    assert len(expected) > 7_000  # 6 queues x ~270 days x 5 daily KPIs, less the days a queue had no calls
    mismatched = {k: (ours.get(k), v) for k, v in expected.items() if ours.get(k) != v}
    assert not mismatched, list(mismatched.items())[:10]
    assert set(ours) == set(expected)
