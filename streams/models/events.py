"""Call events as the sources send them; validated at the edge so the core sees only good data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1
"""Version of the event schemas; bumped on any incompatible change."""


class EventBase(BaseModel):
    """Fields every event carries: identity, schema version and when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(default=1, description="Version of this event schema.")
    event_id: str = Field(min_length=1, max_length=200, description="Unique id; duplicates count once.")
    occurred_at: AwareDatetime = Field(description="When it happened at the source, with its UTC offset.")


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


class CallAbandoned(CallEventBase):
    """The caller hung up after waiting `wait_seconds` without an answer."""

    type: Literal["call.abandoned"] = "call.abandoned"
    wait_seconds: float = Field(ge=0, le=86_400, description="Seconds in queue before hanging up.")

    @property
    def offered_at(self) -> datetime:
        """When the call entered the queue."""
        return self.occurred_at - timedelta(seconds=self.wait_seconds)


class CallEnded(CallEventBase):
    """An answered call ended; carries the handling time split."""

    type: Literal["call.ended"] = "call.ended"
    talk_seconds: float = Field(ge=0, le=86_400, description="Seconds in conversation.")
    hold_seconds: float = Field(default=0, ge=0, le=86_400, description="Seconds on hold.")
    wrap_seconds: float = Field(default=0, ge=0, le=86_400, description="After-call work seconds.")


CallEvent = Annotated[
    CallOffered | CallAnswered | CallAbandoned | CallEnded,
    Field(discriminator="type"),
]
"""Any call event, told apart by its `type`."""

Event = CallEvent
"""Any event cckpi consumes (only calls so far)."""

EVENT_TYPES: dict[str, type[EventBase]] = {
    "call.offered": CallOffered,
    "call.answered": CallAnswered,
    "call.abandoned": CallAbandoned,
    "call.ended": CallEnded,
}

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
