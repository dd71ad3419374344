"""The contract's effective period (`effective_from` .. `effective_until`): what happens outside it is reported,
never judged, so an event before the contract starts or after it ends makes no window and books no breach.

One rule for the batch (`cckpi compute`) and the stream: both pass every event's contributions through
`judged_only` (from `Processor.ingest_contributions`), so they report the same events.
"""

from __future__ import annotations

from streams.core.records import OutsideContract
from streams.core.terms import CompiledTerm, Contribution


def judged_only(scope: str, event_id: str, contributions: list[Contribution]
                ) -> tuple[list[Contribution], list[OutsideContract]]:
    """The contributions in their contract's effective period, and one report per contract whose period the event
    missed (the per-event path is hot: when every contribution is in effect, the input is returned as is)."""
    for c in contributions:
        if not c.term.starts <= c.at < c.term.ends:
            break
    else:
        return contributions, []
    judged: list[Contribution] = []
    outside: dict[str, OutsideContract] = {}
    for c in contributions:
        if c.term.in_effect(c.at):
            judged.append(c)
        elif c.term.contract not in outside:
            outside[c.term.contract] = OutsideContract(c.term.contract, scope, event_id, outside_reason(c.term, c.at))
    return judged, list(outside.values())


def outside_reason(term: CompiledTerm, at: float) -> str:
    """Why a contribution at `at` is not judged: which side of the effective period it falls on."""
    iso = term.window.iso
    if at < term.starts:
        return (f"{iso(at)} is before contract {term.contract} takes effect ({iso(term.starts)[:10]}, "
                "`effective_from`): not judged")
    return (f"{iso(at)} is after contract {term.contract} ended ({iso(term.ends - 1)[:10]}, `effective_until`): "
            "not judged")
