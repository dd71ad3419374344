"""KPI definitions: each contract variant gives the documented numerator and denominator."""

from __future__ import annotations

import pytest

from streams.core import WindowResult, compute
from tests.helpers import CONTRACT, abandoned, answered, at, ended, terms

BASE = CONTRACT.split("terms:")[0] + "terms:\n"


def one(term_yaml: str, events: list) -> WindowResult:
    [r] = [o for o in compute(events, terms(BASE + term_yaml)) if isinstance(o, WindowResult)]
    return r


CALLS = [answered(at("10:01"), wait=5), answered(at("10:02"), wait=25), abandoned(at("10:03"), wait=3),
         abandoned(at("10:04"), wait=15), abandoned(at("10:05"), wait=60)]


@pytest.mark.parametrize(("extra", "expected"), [
    ("", (1, 5)),  # answered within 20 s over all offered
    ("    short_abandon_seconds: 5\n", (1, 4)),  # the 3-second abandon is left out
    ("    abandons_within_target_good: true\n", (3, 5)),  # abandons within 20 s count as good
    ("    short_abandon_seconds: 5\n    abandons_within_target_good: true\n", (2, 4)),
])
def test_service_level_variants(extra: str, expected: tuple[int, int]) -> None:
    term = ("  - id: sl\n    kpi: service_level\n    answer_within_seconds: 20\n    threshold: 0.8\n"
            "    window: 1h\n" + extra)
    r = one(term, CALLS)
    assert (r.numerator, r.denominator) == expected


def test_answer_and_abandon_rates_are_complements() -> None:
    ar = one("  - {id: ar, kpi: answer_rate, threshold: 0.8, window: 1h}\n", CALLS)
    ab = one("  - {id: ab, kpi: abandon_rate, threshold: 0.1, window: 1h}\n", CALLS)
    assert (ar.numerator, ar.denominator, ab.numerator, ab.denominator) == (2, 5, 3, 5)
    assert ab.status == "breached"  # 60% > 10%: lower is better


def test_asa_counts_answered_calls_only() -> None:
    r = one("  - {id: asa, kpi: asa, threshold: 20, window: 1h}\n", CALLS)
    assert (r.value, r.denominator, r.status) == (15.0, 2, "met")


def test_talk_and_handle_time() -> None:
    calls = [ended(at("10:10"), talk=100, hold=20, wrap=30), ended(at("10:20"), talk=200)]
    talk = one("  - {id: att, kpi: avg_talk_time, threshold: 120, window: 1h}\n", calls)
    handle = one("  - {id: aht, kpi: avg_handle_time, threshold: 180, window: 1h}\n", calls)
    assert (talk.value, talk.status) == (150.0, "breached")
    assert (handle.value, handle.status) == (175.0, "met")


def test_calls_count_in_the_window_they_were_offered_in() -> None:
    # answered at 10:00:10 after 20 s in queue: offered at 09:59:50, so it belongs to 09:00-10:00
    r = one("  - {id: ar, kpi: answer_rate, threshold: 0.8, window: 1h}\n", [answered(at("10:00", 10), wait=20)])
    assert r.window_start == "2026-11-23T09:00:00+08:00"
