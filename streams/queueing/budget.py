"""Period budgets: how much room a term's period has left, from its running aggregate and the contacts still
expected, so a supervisor knows "143 more late calls and the month is lost" before it is.

Ratio terms (answer rate, service level, abandon rate, ...): how many more bad contacts the period can absorb
before the target becomes unreachable even if every other contact is good. Average terms (ASA, talk time, CSAT):
the average the rest of the period needs to end exactly on the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPSILON = 1e-9


@dataclass(frozen=True)
class Budget:
    """What is left of a period: `contacts` for ratio terms, `needed_value` for average terms."""

    expected_total: float
    """Contacts expected in the whole period: counted so far plus still expected."""
    contacts: int | None = None
    """Ratio terms: more bad contacts the period can absorb; negative when the target is out of reach already
    (even if every remaining expected contact is good, by that many)."""
    needed_value: float | None = None
    """Average terms: the mean value the remaining contacts need (at most for times, at least for scores);
    None when no more contacts are expected."""


def period_budget(numerator: float, denominator: float, threshold: float, higher_is_better: bool, ratio: bool,
                  expected_remaining: float) -> Budget:
    """The budget of a period with running sums `numerator`/`denominator` and `expected_remaining` contacts to come.

    For ratios the numerator counts good contacts when higher is better (answer rate: answered) and bad ones when
    lower is better (abandon rate: abandoned); the period ends with `expected_total` contacts."""
    remaining = max(0.0, expected_remaining)
    total = denominator + remaining
    if ratio:
        bad = denominator - numerator if higher_is_better else numerator
        allowed = (1.0 - threshold if higher_is_better else threshold) * total
        return Budget(total, contacts=math.floor(allowed - bad + EPSILON))
    if remaining <= 0:
        return Budget(total)
    return Budget(total, needed_value=(threshold * total - numerator) / remaining)
