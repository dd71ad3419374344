"""Erlang C and Erlang A against published values and against independent computations.

Published Erlang C values: the worked example of Call Centre Helper, "Erlang C Formula - Made Simple With an Easy
Worked Example" (100 calls in 30 minutes, average handle time 180 s, so 10 Erlangs; answer within 20 s):
11 agents P(wait) 68.21% / service level 39.0% / ASA 122.8 s, 12 agents 44.94% / 64.0% / 40.4 s, 13 agents
28.53% / 79.6% / 17.1 s, 14 agents 17.41% / 88.8% / 7.8 s: 14 agents reach 80/20. The same P(wait) values are in
every printed Erlang C table (traffic 10 Erlangs, 11-14 servers). The test recomputes them exactly with rational
arithmetic (no Erlang B recursion) and checks both.

Erlang A is checked against a brute-force solution of the birth-death chain of M/M/n+M (truncated where the
probabilities vanish) and, for the waiting time, a numerical integration of the tagged caller's journey through the
queue (Runge-Kutta on the number of callers ahead, with its own exponential patience): none of the closed forms
of `streams.queueing.erlang` are used by the reference.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from streams.queueing.erlang import agents_needed, erlang_b, erlang_c, predict_a, predict_c

PUBLISHED = {11: (0.6821, 0.390, 122.8), 12: (0.4494, 0.640, 40.4), 13: (0.2853, 0.796, 17.1),
             14: (0.1741, 0.888, 7.8)}
"""agents -> (P(wait), service level within 20 s, ASA seconds) at 10 Erlangs, AHT 180 s (Call Centre Helper)."""


def exact_erlang_c(n: int, load: Fraction) -> Fraction:
    """P(wait) of M/M/n from the textbook formula in exact rationals."""
    top = load**n / math.factorial(n) * Fraction(n) / (n - load)
    return top / (sum(load**k / math.factorial(k) for k in range(n)) + top)


def exact_erlang_b(n: int, load: Fraction) -> Fraction:
    """Blocking of M/M/n/n in exact rationals."""
    return (load**n / math.factorial(n)) / sum(load**k / math.factorial(k) for k in range(n + 1))


@pytest.mark.parametrize("agents", sorted(PUBLISHED))
def test_erlang_c_matches_the_published_worked_example(agents: int) -> None:
    rate, aht = 100 / 1800, 180.0
    p = predict_c(rate, aht, agents, 20)
    exact = float(exact_erlang_c(agents, Fraction(10)))
    published_pw, published_sl, published_asa = PUBLISHED[agents]
    assert p.p_wait == pytest.approx(exact, rel=1e-12)
    assert round(p.p_wait, 4) == published_pw
    assert p.service_level == pytest.approx(1 - exact * math.exp(-(agents - 10) * 20 / aht), rel=1e-12)
    assert round(p.service_level, 3) == pytest.approx(published_sl, abs=0.0011)
    assert round(p.asa_seconds, 1) == pytest.approx(published_asa, abs=0.051)
    assert p.abandon_rate == 0 and p.occupancy == pytest.approx(10 / agents)


def test_agents_needed_for_80_in_20_is_the_published_14() -> None:
    assert agents_needed(100 / 1800, 180, 20, service_level=0.8) == 14
    assert agents_needed(100 / 1800, 180, 20, asa_seconds=20) == 13  # ASA 17.1 s at 13, 40.4 s at 12


@pytest.mark.parametrize(("n", "load"), [(1, Fraction(1, 2)), (5, Fraction(3)), (30, Fraction(247, 10)),
                                         (60, Fraction(58))])
def test_erlang_b_and_c_equal_exact_rationals(n: int, load: Fraction) -> None:
    assert erlang_b(n, float(load)) == pytest.approx(float(exact_erlang_b(n, load)), rel=1e-12)
    assert erlang_c(n, float(load)) == pytest.approx(float(exact_erlang_c(n, load)), rel=1e-12)


def test_erlang_c_is_stable_for_large_centres_and_saturates_when_overloaded() -> None:
    p = predict_c(1000 / 3600 * 6, 300, 520, 20)  # 500 Erlangs, 520 agents: factorials would overflow
    assert 0 < p.p_wait < 1 and 0 < p.service_level < 1 and math.isfinite(p.asa_seconds)
    overloaded = predict_c(0.1, 300, 25, 20)
    assert overloaded.p_wait == 1 and overloaded.service_level == 0 and overloaded.asa_seconds == math.inf


def brute_force_a(rate: float, aht: float, n: int, target: float, patience: float) -> dict[str, float]:
    """M/M/n+M measures from the truncated birth-death chain and the tagged caller's ODE (RK4)."""
    mu, theta = 1 / aht, 1 / patience
    k_max = n + 60 + int(6 * rate * patience)
    log_p = [0.0]
    for j in range(1, k_max + 1):  # birth rate, death rate (service plus abandonment)
        log_p.append(log_p[-1] + math.log(rate) - math.log(min(j, n) * mu + max(j - n, 0) * theta))
    top = max(log_p)
    pi = np.exp(np.array(log_p) - top)
    pi /= pi.sum()
    queue = np.arange(k_max + 1 - n)
    p_wait = float(pi[n:].sum())
    p_ab = float(theta * (queue * pi[n:]).sum() / rate)
    rates = n * mu + queue * theta  # a caller with i ahead moves up at n mu + i theta

    def deriv(t: float, p: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        dp = -(rates + theta) * p
        dp[:-1] += rates[1:] * p[1:]
        flux = n * mu * p[0]
        return dp, flux, theta * float(p.sum()), t * flux

    def run(p: np.ndarray, until: float, h: float) -> tuple[np.ndarray, float, float, float]:
        served = abandoned = moment = 0.0
        t = 0.0
        steps = max(1, round(until / h))
        h = until / steps
        for _ in range(steps):
            k1 = deriv(t, p)
            k2 = deriv(t + h / 2, p + h / 2 * k1[0])
            k3 = deriv(t + h / 2, p + h / 2 * k2[0])
            k4 = deriv(t + h, p + h * k3[0])
            for i, acc in ((1, "s"), (2, "a"), (3, "m")):
                inc = h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])
                if acc == "s":
                    served += inc
                elif acc == "a":
                    abandoned += inc
                else:
                    moment += inc
            p = p + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            t += h
        return p, served, abandoned, moment

    _, served_t, ab_t, _ = run(pi[n:].copy(), target, 0.02)
    _, served_all, _, moment = run(pi[n:].copy(), 20 * patience, 0.2)
    return {"p_wait": p_wait, "abandon_rate": p_ab, "service_level": float(pi[:n].sum()) + served_t,
            "abandoned_within": ab_t, "asa": moment / (float(pi[:n].sum()) + served_all)}


@pytest.mark.parametrize(("rate", "aht", "n", "target", "patience"), [
    (100 / 1800, 180, 11, 20, 120),  # the Erlang C example with impatient callers
    (100 / 1800, 180, 8, 20, 120),  # understaffed: stable only thanks to abandonment
    (0.02, 240, 3, 30, 60),  # small queue, short patience
    (0.5, 200, 95, 15, 300),  # 100 Erlangs
])
def test_erlang_a_equals_the_brute_force_chain(rate: float, aht: float, n: int, target: float,
                                               patience: float) -> None:
    ref = brute_force_a(rate, aht, n, target, patience)
    p = predict_a(rate, aht, n, target, patience)
    assert p.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert p.abandon_rate == pytest.approx(ref["abandon_rate"], rel=1e-9)
    assert p.service_level == pytest.approx(ref["service_level"], abs=1e-6)
    assert p.asa_seconds == pytest.approx(ref["asa"], rel=1e-4)
    good = predict_a(rate, aht, n, target, patience, abandons_good=True)
    assert good.service_level == pytest.approx(ref["service_level"] + ref["abandoned_within"], abs=1e-6)


def test_erlang_a_tends_to_erlang_c_as_callers_become_patient() -> None:
    c = predict_c(100 / 1800, 180, 12, 20)
    a = predict_a(100 / 1800, 180, 12, 20, 1e7)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-3)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-3)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-3)
    assert a.abandon_rate < 1e-4


def test_agents_needed_is_the_fewest_that_meet_the_target() -> None:
    for patience in (None, 90.0, 600.0):
        n = agents_needed(0.3, 240, 20, service_level=0.8, patience=patience)
        assert n is not None and n > 1
        sl = [predict_c(0.3, 240, m, 20).service_level if patience is None else
              predict_a(0.3, 240, m, 20, patience).service_level for m in (n - 1, n)]
        assert sl[0] < 0.8 <= sl[1]
    assert agents_needed(0.0, 240, 20, service_level=0.8) == 0


@pytest.mark.parametrize("start", [None, 1, 5, 14, 15, 40, 300])
def test_agents_needed_does_not_depend_on_where_the_search_starts(start: int | None) -> None:
    assert agents_needed(100 / 1800, 180, 20, service_level=0.8, start=start) == 14
    assert agents_needed(100 / 1800, 180, 20, service_level=0.8, patience=120, start=start) == agents_needed(
        100 / 1800, 180, 20, service_level=0.8, patience=120)
