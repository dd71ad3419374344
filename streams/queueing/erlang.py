"""Queueing formulas for staffing forecasts: Erlang C (M/M/n, callers wait forever) and Erlang A (Palm's
M/M/n+M, callers hang up after an exponential patience). Pure functions of floats, numerically stable.

Erlang C uses the iterative Erlang B recursion (no factorials or powers, so no overflow at any size). Erlang A
follows Mandelbaum & Zeltyn, "The Palm/Erlang-A queue, with applications to call centers" (2007): with
x = n*mu/theta and y = lambda/theta, every measure is a closed form of Erlang B and the series
A(x, y) = sum_k y^k / ((x+1)...(x+k)) (= x e^y y^-x gamma(x, y)), which is summed in log space here.
The waiting-time distribution of the Erlang A queue is P(V > t) = P(wait) * gamma(x, y e^(-theta t)) / gamma(x, y)
for the offered wait V (the wait a caller with infinite patience would have).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Model = Literal["erlang_c", "erlang_a"]
MAX_AGENTS = 5000
"""Upper bound of the agents-needed search (no real queue needs more; the search stops there)."""


@dataclass(frozen=True)
class Prediction:
    """Steady-state measures of one queue at one staffing level."""

    model: Model
    agents: int
    load_erlangs: float
    p_wait: float
    """Probability that a call waits at all."""
    service_level: float
    """Share of offered calls answered within the target (plus abandoned within it, if those count good)."""
    asa_seconds: float
    """Mean wait of answered calls (inf when the queue is unstable under Erlang C)."""
    abandon_rate: float
    """Share of offered calls that hang up before an answer (0 under Erlang C)."""
    occupancy: float
    """Share of agent time spent handling calls."""


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/n/n with offered load `load` Erlangs (the Erlang B recursion)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability of waiting in M/M/n (Erlang C); 1 when the agents cannot carry the load."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def _check(rate: float, aht: float, agents: int, answer_within: float) -> None:
    if rate < 0 or aht <= 0 or agents < 0 or answer_within < 0:
        raise ValueError("need calls per second >= 0, handle time > 0, agents >= 0 and a target >= 0")


def predict_c(rate: float, aht: float, agents: int, answer_within: float) -> Prediction:
    """Erlang C: `rate` calls per second, mean handle time `aht` seconds, `agents` staffed, target seconds."""
    _check(rate, aht, agents, answer_within)
    load = rate * aht
    if agents <= load:
        return Prediction("erlang_c", agents, load, 1.0, 0.0, math.inf, 0.0, 1.0)
    pw = erlang_c(agents, load)
    sl = 1.0 - pw * math.exp(-(agents - load) * answer_within / aht)
    return Prediction("erlang_c", agents, load, pw, sl, pw * aht / (agents - load), 0.0, load / agents)


def _series(x: float, y: float, with_harmonic: bool = False) -> tuple[float, float]:
    """log A(x, y) = log sum_k t_k with t_k = prod_{i<=k} y/(x+i); and, if asked, log of
    sum_k t_k * H_k / (x+k+1) with H_k = sum_{i=1}^{k+1} 1/(x+i) (for the mean wait of served calls)."""
    if y <= 0:
        return 0.0, (math.log(1.0 / ((x + 1.0) ** 2)) if with_harmonic else -math.inf)
    log_y = math.log(y)
    log_t, top = 0.0, 0.0  # log of the current term, and the scale (largest log term so far)
    total, weighted, harmonic = 1.0, 0.0, 0.0
    k = 0
    while True:
        harmonic += 1.0 / (x + k + 1.0)
        if with_harmonic:
            weighted += math.exp(log_t - top) * harmonic / (x + k + 1.0)
        k += 1
        log_t += log_y - math.log(x + k)
        if log_t > top:  # rescale so the largest term is 1
            shrink = math.exp(top - log_t)
            total, weighted, top = total * shrink, weighted * shrink, log_t
        term = math.exp(log_t - top)
        total += term
        if k > y - x and term < 1e-17 * total:
            break
    if with_harmonic:  # the last term's weight, then the tail is negligible
        harmonic += 1.0 / (x + k + 1.0)
        weighted += math.exp(log_t - top) * harmonic / (x + k + 1.0)
    return top + math.log(total), (top + math.log(weighted) if weighted > 0 else -math.inf)


def predict_a(rate: float, aht: float, agents: int, answer_within: float, patience: float,
              abandons_good: bool = False) -> Prediction:
    """Erlang A (M/M/n+M): as `predict_c`, with callers' mean patience `patience` seconds.

    `abandons_good` counts calls abandoned within the target as good in the service level (some contracts do)."""
    _check(rate, aht, agents, answer_within)
    if patience <= 0:
        raise ValueError("patience must be > 0 seconds")
    load = rate * aht
    if rate == 0:
        return Prediction("erlang_a", agents, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    theta = 1.0 / patience
    x, y = agents * patience / aht, rate * patience
    log_a, log_w = _series(x, y, with_harmonic=True)
    b = erlang_b(agents, load)
    # P(wait) = A E / (1 + (A - 1) E) = 1 / (1 + (1/E - 1) / A), in logs so that neither overflows
    exponent = math.log1p(-b) - math.log(b) - log_a if 0.0 < b < 1.0 else (-math.inf if b >= 1.0 else math.inf)
    pw = 0.0 if exponent > 700 else 1.0 / (1.0 + math.exp(exponent))
    if agents == 0:
        served_within, p_ab, ab_within, asa = 0.0, 1.0, 1.0 - math.exp(-theta * answer_within), 0.0
    else:
        p_ab = pw * (1.0 - x / y + x / (y * math.exp(log_a)))
        z = y * math.exp(-theta * answer_within)
        log_az = _series(x, z)[0]
        # R = gamma(x, z) / gamma(x, y): the chance an offered wait of a waiting call lasts past the target
        ratio = math.exp(-agents * answer_within / aht + y - z + log_az - log_a)
        ab_within = pw / y * ((y - x) + x * math.exp(-log_a) + (x - z) * ratio - x * ratio * math.exp(-log_az))
        p_wait_past = math.exp(-theta * answer_within) * pw * ratio
        served_within = 1.0 - p_wait_past - ab_within
        # E[V; served] = pi_n * (x / theta) * sum_k t_k H_k / (x+k+1), pi_n = P(wait) / A
        served = 1.0 - p_ab
        asa = pw * x * patience * math.exp(log_w - log_a) / served if served > 0 else math.inf
    sl = served_within + (ab_within if abandons_good else 0.0)
    occupancy = load * (1.0 - p_ab) / agents if agents else 1.0
    return Prediction("erlang_a", agents, load, pw, _unit(sl), asa, _unit(p_ab), min(1.0, occupancy))


def _unit(value: float) -> float:
    """Clamp rounding noise into [0, 1]."""
    return min(1.0, max(0.0, value))


def predict(rate: float, aht: float, agents: int, answer_within: float, patience: float | None = None,
            abandons_good: bool = False) -> Prediction:
    """Erlang A when a patience is given, else Erlang C."""
    if patience is None:
        return predict_c(rate, aht, agents, answer_within)
    return predict_a(rate, aht, agents, answer_within, patience, abandons_good)


def agents_needed(rate: float, aht: float, answer_within: float, *, service_level: float | None = None,
                  asa_seconds: float | None = None, patience: float | None = None, abandons_good: bool = False,
                  start: int | None = None) -> int | None:
    """Fewest agents whose prediction meets the service level and/or ASA target; None above MAX_AGENTS.

    Both measures improve with every agent added, so a galloping search from `start` (e.g. the agents staffed now,
    usually close to the answer) then a binary search finds the smallest."""
    if service_level is None and asa_seconds is None:
        raise ValueError("give a service level and/or an ASA target")

    def meets(n: int) -> bool:
        p = predict(rate, aht, n, answer_within, patience, abandons_good)
        return (service_level is None or p.service_level >= service_level - 1e-12) and (
            asa_seconds is None or p.asa_seconds <= asa_seconds + 1e-9)

    if rate == 0:
        return 0
    floor = int(rate * aht) if patience is None else 0  # fails: Erlang C needs more agents than the load
    guess = max(floor + 1, start or 1)
    step = 1
    if meets(guess):  # gallop down to a failing count (or the floor)
        high, low = guess, guess - 1
        while low > floor and meets(low):
            high, low, step = low, max(floor, low - step * 2), step * 2
    else:  # gallop up to a count that meets the target
        low, high = guess, guess + 1
        while not meets(high):
            low, high, step = high, high + step * 2, step * 2
            if low > MAX_AGENTS:
                return None
    while high - low > 1:  # meets(high); low fails (or is the floor, which fails)
        mid = (low + high) // 2
        low, high = (low, mid) if meets(mid) else (mid, high)
    return max(high, 1)
