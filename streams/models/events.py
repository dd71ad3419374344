"""Call events as the sources send them; validated at the edge so the core sees only good data."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

T = TypeVar("T")


class once(cached_property[T]):
    """`functools.cached_property` without the lock Python 3.11 takes on each first read (hot per-event path)."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value


SCHEMA_VERSION = 1
"""Version of the event schemas; bumped on any incompatible change."""


class EventBase(BaseModel):
    """Fields every event carries: identity, schema version and when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(once,))

    schema_version: Literal[1] = Field(default=1, description="Version of this event schema.")
    event_id: str = Field(min_length=1, max_length=200, description="Unique id; duplicates count once.")
    occurred_at: AwareDatetime = Field(description="When it happened at the source, with its UTC offset.")

    @once
    def ts(self) -> float:
        """`occurred_at` in epoch seconds, computed once (the core reads it several times per event)."""
        return self.occurred_at.timestamp()


class CallEventBase(EventBase):
    """A step in one call's life in one queue."""

    call_id: str = Field(min_length=1, max_length=200, description="Id of the call at the source.")
    queue: str = Field(min_length=1, max_length=100, description="Queue (skill, hotline) the call was offered to.")


class CallOffered(CallEventBase):
    """The call entered the queue and waits for an agent."""

    type: Literal["call.offered"] = "call.offered"


class CallAnswered(CallEventBase):
    """An agent answered the call after it waited `wait_seconds` in queue."""

    type: Literal["call.answered"] = "call.answered"
    wait_seconds: float = Field(ge=0, le=86_400, description="Seconds in queue before the answer.")
    agent_id: str | None = Field(default=None, max_length=200, description="Agent who answered.")

    @property
    def offered_at(self) -> datetime:
        """When the call entered the queue."""
        return self.occurred_at - timedelta(seconds=self.wait_seconds)

    @once
    def offered_ts(self) -> float:
        """`offered_at` in epoch seconds, computed once."""
        return self.offered_at.timestamp()


class CallAbandoned(CallEventBase):
    """The caller hung up after waiting `wait_seconds` without an answer."""

    type: Literal["call.abandoned"] = "call.abandoned"
    wait_seconds: float = Field(ge=0, le=86_400, description="Seconds in queue before hanging up.")

    @property
    def offered_at(self) -> datetime:
        """When the call entered the queue."""
        return self.occurred_at - timedelta(seconds=self.wait_seconds)

    @once
    def offered_ts(self) -> float:
        """`offered_at` in epoch seconds, computed once."""
        return self.offered_at.timestamp()


class CallEnded(CallEventBase):
    """An answered call ended; carries the handling time split."""

    type: Literal["call.ended"] = "call.ended"
    talk_seconds: float = Field(ge=0, le=86_400, description="Seconds in conversation.")
    hold_seconds: float = Field(default=0, ge=0, le=86_400, description="Seconds on hold.")
    wrap_seconds: float = Field(default=0, ge=0, le=86_400, description="After-call work seconds.")
    offered_at: AwareDatetime | None = Field(
        default=None, description="When the call entered the queue, if known: talk and handle time then count in "
        "the window of the offer, like the other call KPIs (otherwise in the window of the end).")


class AgentEventBase(EventBase):
    """A change of one agent's state in one queue: staffing, for forecasts. Travels on the calls topic keyed by
    the queue, so it shares the partition (and the order) of the queue's call events."""

    agent_id: str = Field(min_length=1, max_length=200, description="Agent (login, extension) at the source.")
    queue: str = Field(min_length=1, max_length=100, description="Queue (skill) the agent serves.")


class AgentLoggedIn(AgentEventBase):
    """The agent logged in to the queue (not taking calls until ready)."""

    type: Literal["agent.logged_in"] = "agent.logged_in"


class AgentReady(AgentEventBase):
    """The agent takes calls of the queue (counts as staffed)."""

    type: Literal["agent.ready"] = "agent.ready"


class AgentNotReady(AgentEventBase):
    """The agent is logged in but takes no calls (break, training, after-call work beyond wrap-up)."""

    type: Literal["agent.not_ready"] = "agent.not_ready"
    reason: str | None = Field(default=None, max_length=100, description="Reason code as the source names it.")


class AgentLoggedOut(AgentEventBase):
    """The agent left the queue."""

    type: Literal["agent.logged_out"] = "agent.logged_out"


AgentEvent = AgentLoggedIn | AgentReady | AgentNotReady | AgentLoggedOut
"""Any agent state event."""

QueueEvent = CallEventBase | AgentEventBase
"""Events keyed by queue on the calls topic: call events and agent state events."""

CallEvent = Annotated[
    CallOffered | CallAnswered | CallAbandoned | CallEnded | AgentLoggedIn | AgentReady | AgentNotReady
    | AgentLoggedOut,
    Field(discriminator="type"),
]
"""Any event of the calls topic (call events and agent state events), told apart by its `type`."""


class TicketEventBase(EventBase):
    """A step in one ticket's (request, fault, complaint) life."""

    ticket_id: str = Field(min_length=1, max_length=200, description="Id of the ticket at the source.")


class TicketCreated(TicketEventBase):
    """A ticket was opened; SLA clocks start here."""

    type: Literal["ticket.created"] = "ticket.created"
    category: str = Field(min_length=1, max_length=100, description="request, fault, complaint, ...")
    priority: str = Field(default="normal", max_length=50, description="Priority as the source names it.")
    channel: str | None = Field(default=None, max_length=50, description="phone, email, chat, web, ...")
    queue: str | None = Field(default=None, max_length=100, description="Team or queue that owns it.")


class TicketFirstResponse(TicketEventBase):
    """The first response to the customer."""

    type: Literal["ticket.first_response"] = "ticket.first_response"


class TicketUpdated(TicketEventBase):
    """A progress update given to the customer."""

    type: Literal["ticket.updated"] = "ticket.updated"


class TicketResolved(TicketEventBase):
    """A solution was provided."""

    type: Literal["ticket.resolved"] = "ticket.resolved"


class TicketReopened(TicketEventBase):
    """A resolved ticket was reopened."""

    type: Literal["ticket.reopened"] = "ticket.reopened"


class TicketClosed(TicketEventBase):
    """The ticket was closed for good."""

    type: Literal["ticket.closed"] = "ticket.closed"


TicketEvent = Annotated[
    TicketCreated | TicketFirstResponse | TicketUpdated | TicketResolved | TicketReopened | TicketClosed,
    Field(discriminator="type"),
]
"""Any ticket event, told apart by its `type`."""


class SurveySubmitted(EventBase):
    """A customer answered a satisfaction survey."""

    type: Literal["survey.submitted"] = "survey.submitted"
    survey_id: str = Field(min_length=1, max_length=200)
    csat_points: float | None = Field(default=None, ge=0, description="Satisfaction points on the contract scale.")
    nps_score: int | None = Field(default=None, ge=0, le=10, description="Likelihood to recommend, 0..10.")
    queue: str | None = Field(default=None, max_length=100)
    ticket_id: str | None = Field(default=None, max_length=200)
    call_id: str | None = Field(default=None, max_length=200)


class ServiceDown(EventBase):
    """A measured service became unavailable."""

    type: Literal["service.down"] = "service.down"
    service: str = Field(min_length=1, max_length=100)


class ServiceUp(EventBase):
    """A measured service became available again."""

    type: Literal["service.up"] = "service.up"
    service: str = Field(min_length=1, max_length=100)


class ServiceProbe(EventBase):
    """A periodic check: the service was up or not for the last `interval_seconds`."""

    type: Literal["service.probe"] = "service.probe"
    service: str = Field(min_length=1, max_length=100)
    ok: bool
    interval_seconds: float = Field(gt=0, le=86_400)


Event = Annotated[
    CallOffered | CallAnswered | CallAbandoned | CallEnded | AgentLoggedIn | AgentReady | AgentNotReady
    | AgentLoggedOut | TicketCreated | TicketFirstResponse | TicketUpdated
    | TicketResolved | TicketReopened | TicketClosed | SurveySubmitted | ServiceDown | ServiceUp | ServiceProbe,
    Field(discriminator="type"),
]
"""Any event cckpi consumes, told apart by its `type`."""

EVENT_TYPES: dict[str, type[EventBase]] = {
    model.model_fields["type"].default: model
    for model in (CallOffered, CallAnswered, CallAbandoned, CallEnded, AgentLoggedIn, AgentReady, AgentNotReady,
                  AgentLoggedOut, TicketCreated, TicketFirstResponse,
                  TicketUpdated, TicketResolved, TicketReopened, TicketClosed, SurveySubmitted, ServiceDown,
                  ServiceUp, ServiceProbe)
}

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def routing_key(event: Event) -> str:
    """The partition key of an event: the queue for calls and agents, the ticket for tickets, the service for probes.

    All events sharing a key are processed in order by one worker, which owns that key's state.
    """
    if isinstance(event, CallEventBase | AgentEventBase):
        return event.queue
    if isinstance(event, TicketEventBase):
        return event.ticket_id
    if isinstance(event, SurveySubmitted):
        return event.queue or event.survey_id
    return event.service
