"""The breach lifecycle of a window: the period-to-date value is judged after every contribution, and each
change of level is an event, so supervisors hear of a breach while the window is still open.

Levels: ok, warning (the warning level is crossed), breached (the threshold is crossed), both only once the
window has `min_volume` contributions. Events: `warning`, `breached`, `recovered` (back to ok) while open,
and `final` when the window closes or is revised, if it ever left ok or closes breached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from streams.core.records import BreachState, BreachUpdate
from streams.core.state import SCALE, WindowAgg
from streams.core.terms import CompiledTerm
from streams.core.verdict import judge

SAMPLE_SIZE: Final = 5


def level(agg: WindowAgg, term: CompiledTerm) -> str:
    """ok, warning or breached for the window's value so far."""
    value, status = judge(agg.n / SCALE, agg.d / SCALE, term.threshold, term.higher_is_better, term.min_volume)
    if status == "breached":
        return "breached"
    warning = term.warning
    if status == "met" and value is not None and warning is not None and (
            value < warning if term.higher_is_better else value > warning):
        return "warning"
    return "ok"


def assess(agg: WindowAgg, term: CompiledTerm, scope: str, at: float) -> BreachUpdate | None:
    """The event for a change of level of an open window, or None."""
    new = level(agg, term)
    if new == agg.alert:
        return None
    state: BreachState = "recovered" if new == "ok" else "warning" if new == "warning" else "breached"
    agg.alert, agg.alert_since = new, at
    return _update(agg, term, scope, state)


def finalize(agg: WindowAgg, term: CompiledTerm, scope: str) -> BreachUpdate | None:
    """The `final` event of a closed (or revised) window that was ever at risk or ends breached."""
    final = level(agg, term)
    if agg.alert == "ok" and final != "breached" and agg.alert_revision == 0:
        return None
    agg.alert = final
    return _update(agg, term, scope, "final")


def _update(agg: WindowAgg, term: CompiledTerm, scope: str, state: BreachState) -> BreachUpdate:
    agg.alert_revision += 1
    t = term.term
    value, status = judge(agg.num, agg.den, t.threshold, term.kind.higher_is_better, t.min_volume)
    return BreachUpdate(
        contract=term.contract, term=t.id, kpi=t.kpi, unit=term.kind.unit, scope=scope,
        window_start=term.window.iso(agg.start), window_end=term.window.iso(agg.end), state=state, status=status,
        value=value, numerator=agg.num, denominator=agg.den, threshold=t.threshold, warning=t.warning,
        revision=agg.alert_revision, since=datetime.fromtimestamp(agg.alert_since or agg.start, UTC).isoformat(),
        sample=tuple(agg.sample), window_revision=max(agg.revision, 0),  # -1 until the window is first published
    )


def remember_sample(agg: WindowAgg, event_id: str) -> None:
    """Keep the last few contributing event ids."""
    agg.sample.append(event_id)
    if len(agg.sample) > SAMPLE_SIZE:
        del agg.sample[0]
