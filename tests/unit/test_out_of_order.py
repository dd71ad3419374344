"""Out-of-order storms: events shuffled within and beyond the grace period (but within retention) end with the same
final revision of every window as the same events in order."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.sim import Traffic, simulate
from tests.helpers import at
from tests.unit.test_sim import DEMO

EVENTS = list(simulate(["general", "cards"], at("09:00"), 3 * 3600, Traffic(), 5, "storm"))
TERMS = compile_terms([load_contract(DEMO)])  # 15-minute windows, 5-minute grace, 1-day retention


def finals(events: list) -> dict[str, tuple]:
    latest: dict[str, WindowResult] = {}
    for r in compute(events, TERMS):
        if isinstance(r, WindowResult):
            latest[r.key] = r
    return {k: (r.numerator, r.denominator, r.status) for k, r in latest.items()}


IN_ORDER = finals(EVENTS)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([60.0, 600.0, 3 * 3600.0]))
def test_shuffled_events_end_with_the_in_order_results(seed: int, max_delay: float) -> None:
    rng = random.Random(seed)
    # each event is delayed by up to max_delay seconds of event time: within grace (60 s), beyond it (10 min), or
    # hours late (within the 1-day retention): late ones revise closed windows
    shuffled = sorted(EVENTS, key=lambda e: e.occurred_at.timestamp() + rng.uniform(0, max_delay))
    assert shuffled != EVENTS
    assert finals(shuffled) == IN_ORDER
