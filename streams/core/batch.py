"""The batch path: the same Processor over a finite list of events, flushed at the end."""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.processor import Processor
from streams.core.records import Output
from streams.core.state import ScopeState
from streams.core.terms import TermIndex
from streams.models.events import Event, routing_key


def compute(events: Iterable[Event], terms: TermIndex) -> list[Output]:
    """Every closed window (and late contribution) for these events, in the order the stream emits them.

    Events are taken in the given order per scope (queue), as Kafka keeps them per partition.
    """
    processor = Processor(terms)
    states: dict[str, ScopeState] = {}
    out: list[Output] = []
    for event in events:
        scope = routing_key(event)
        state = states.setdefault(scope, ScopeState())
        out.extend(processor.ingest(state, scope, event, 0.0))
    for scope, state in states.items():
        out.extend(processor.flush(state, scope))
    return out
