"""Period budgets: the figure they give is exactly the edge of reaching the target, checked by adding contacts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.queueing.budget import period_budget


def test_answer_rate_month_example() -> None:
    # 900 of 1000 answered so far, 2000 more calls expected, target 90%: 3000 * 10% = 300 bad allowed, 100 used
    b = period_budget(900, 1000, 0.9, True, True, 2000)
    assert b.contacts == 200 and b.expected_total == 3000


@given(good=st.integers(0, 500), extra_bad=st.integers(0, 500), remaining=st.integers(0, 800),
       threshold=st.sampled_from([0.5, 0.8, 0.85, 0.9, 0.95]))
def test_ratio_budget_is_the_last_bad_contact_that_keeps_the_target_reachable(
        good: int, extra_bad: int, remaining: int, threshold: float) -> None:
    den = good + extra_bad
    budget = period_budget(good, den, threshold, True, True, remaining).contacts
    assert budget is not None

    def final(bad_more: int) -> float:  # every other remaining contact good
        return (good + remaining - bad_more) / (den + remaining) if den + remaining else 1.0

    if 0 <= budget <= remaining:
        assert final(budget) >= threshold - 1e-12
    if 0 <= budget + 1 <= remaining:
        assert final(budget + 1) < threshold
    if budget < 0:
        assert final(0) < threshold


def test_lower_is_better_ratio_counts_the_numerator_as_bad() -> None:
    # abandon rate <= 15%: 10 abandoned of 100, 100 more expected -> 30 allowed, 20 left
    assert period_budget(10, 100, 0.15, False, True, 100).contacts == 20
    assert period_budget(40, 100, 0.15, False, True, 0).contacts == -25


@pytest.mark.parametrize(("num", "den", "threshold", "higher", "remaining", "needed"), [
    (20_000, 100, 240, False, 100, 280.0),  # talk time: 200 s so far, 100 calls to come may average 280 s
    (430, 100, 4.5, True, 50, 4.9),  # CSAT 4.3 so far: the next 50 surveys need 4.9
])
def test_average_terms_give_the_value_the_rest_needs(num: float, den: float, threshold: float, higher: bool,
                                                     remaining: float, needed: float) -> None:
    b = period_budget(num, den, threshold, higher, False, remaining)
    assert b.needed_value == pytest.approx(needed)
    assert b.contacts is None
    assert (num + b.needed_value * remaining) / (den + remaining) == pytest.approx(threshold)
    assert period_budget(num, den, threshold, higher, False, 0).needed_value is None
