"""The one table of event families: which topic carries a family, what its messages are keyed by, and which clock
(scope) an event moves. Every place that must tell calls from tickets, surveys or availability asks this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.models.events import (
    EVENT_TYPES,
    AgentEventBase,
    CallEventBase,
    EventBase,
    ServiceDown,
    ServiceProbe,
    ServiceUp,
    SurveySubmitted,
    TicketEventBase,
)

WHOLE = "all"
"""The scope of ticket, survey and availability terms: everything the term's filters let through."""


@dataclass(frozen=True)
class Family:
    """One event family: its topic, message key and scope rule."""

    name: str
    """calls (call and agent events), tickets, surveys or availability: the `source` of contract terms."""
    topic: str
    """The Kafka topic of its events."""
    models: tuple[type[EventBase], ...]
    """The event classes of the family (an event is of the first family one of whose classes it is)."""
    key: Callable[[EventBase], str]
    """The message key: all events sharing it are processed in order by one worker."""
    partitioned: bool
    """True: many partitions, each message keyed by `key` (checked); False: one partition, so one worker holds the
    family's single clock and books."""

    def scope(self, event: EventBase) -> str:
        """The scope an event's windows belong to: its queue for calls, `WHOLE` for the other families."""
        return self.key(event) if self.partitioned else WHOLE

    def clock(self, scope: str) -> str:
        """The name of the state (clock and windows) of a scope: `calls:<queue>` (one per queue), else the family
        name (one per family); unique across families, so one engine can hold every family's states."""
        return f"{self.name}:{scope}" if self.partitioned else self.name


def scope_of(clock: str) -> str:
    """Inverse of `Family.clock`: the scope whose state this is."""
    return clock.partition(":")[2] if ":" in clock else WHOLE


FAMILIES: tuple[Family, ...] = (
    Family("calls", "cckpi.calls", (CallEventBase, AgentEventBase), lambda e: e.queue, True),  # type: ignore[attr-defined]
    Family("tickets", "cckpi.tickets", (TicketEventBase,), lambda e: e.ticket_id, False),  # type: ignore[attr-defined]
    Family("surveys", "cckpi.surveys", (SurveySubmitted,),
           lambda e: e.queue or e.survey_id, False),  # type: ignore[attr-defined]
    Family("availability", "cckpi.availability", (ServiceDown, ServiceUp, ServiceProbe),
           lambda e: e.service, False),  # type: ignore[attr-defined]
)
BY_NAME = {f.name: f for f in FAMILIES}
BY_TOPIC = {f.topic: f for f in FAMILIES}
CALLS = BY_NAME["calls"]


def _of_class(cls: type) -> Family:
    return next(f for f in FAMILIES if issubclass(cls, f.models))


_BY_CLASS: dict[type, Family] = {cls: _of_class(cls) for cls in EVENT_TYPES.values()}
"""Every concrete event class -> its family, computed once (the per-event path is hot); never changed."""


def family_of(event: EventBase) -> Family:
    """The family of an event."""
    return _BY_CLASS.get(type(event)) or _of_class(type(event))


def routing_key(event: EventBase) -> str:
    """The partition key of an event: the queue for calls and agents, the ticket for tickets, the queue (or survey)
    for surveys, the service for availability. All events sharing a key are processed in order by one worker."""
    return family_of(event).key(event)
