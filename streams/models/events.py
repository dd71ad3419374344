"""Call events as the sources send them; validated at the edge so the core sees only good data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

SCHEMA_VERSION = 1
"""Version of the event schemas; bumped on any incompatible change."""

MIN_YEAR, MAX_YEAR = 1970, 2199
"""Years (of the local date-time as sent) an instant may have: anything else is a broken clock or a placeholder
such as 0001-01-01, and would overflow window arithmetic in the core."""

INSTANT_PATTERN = (r"^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                   r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
"""RFC 3339 date-time with a mandatory offset, years MIN_YEAR..MAX_YEAR (the published schemas carry it as is)."""
INSTANT_ERROR = "instant"
"""Error type of a JSON date-time that is not INSTANT_PATTERN or not a real day (`instant_problem` says why)."""

CONTROL = r"[\u0000-\u001f\u007f-\u009f]"
"""A control character (C0, DEL, C1)."""
PRINTABLE = f"^[^{CONTROL[1:-1]}]*$"
"""No control characters: what the decoder checks (natively)."""
NO_CONTROL = {"not": {"pattern": CONTROL}}
"""No control characters, as the published schemas say it: without `$`, which in Python, Java or PCRE validators
also matches before a final newline (in ECMA 262 and in the decoder it does not)."""


def instant_problem(text: object) -> str:
    """Why `text` is not an acceptable instant, in words a producer can act on (the failure path only)."""
    if not isinstance(text, str):
        return "must be a date-time string"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        return f"must be an RFC 3339 date-time with offset, like 2026-11-23T10:00:00+08:00 ({exc})"
    if parsed.utcoffset() is None:
        return "must have a UTC offset (Z or +HH:MM), like 2026-11-23T10:00:00+08:00"
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return f"year {parsed.year} is outside {MIN_YEAR}..{MAX_YEAR}"
    return "must be in the form YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"


_MINUTE = timedelta(minutes=1)


def _in_range(value: datetime) -> datetime:
    """An aware datetime built in Python must be one its JSON form can say: a year in range, a whole-minute offset."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    offset = value.utcoffset()
    if offset is not None and offset % _MINUTE:
        raise ValueError(f"UTC offset {offset} is not a whole number of minutes")
    return value


class _InstantSchema:
    """Validation of `Instant`: JSON text must match INSTANT_PATTERN (checked natively, then parsed by the C
    `datetime.fromisoformat`, which also rejects days a month has not); Python takes an aware datetime in range."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        text = core_schema.no_info_plain_validator_function(
            datetime.fromisoformat, json_schema_input_schema=core_schema.str_schema())
        from_json = core_schema.custom_error_schema(
            core_schema.chain_schema([core_schema.str_schema(pattern=INSTANT_PATTERN), text]), INSTANT_ERROR,
            custom_error_message=f"must be an RFC 3339 date-time with offset in years {MIN_YEAR}..{MAX_YEAR}")
        from_python = core_schema.no_info_after_validator_function(
            _in_range, core_schema.datetime_schema(tz_constraint="aware"))
        return core_schema.json_or_python_schema(from_json, from_python)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN, **NO_CONTROL}


Instant = Annotated[datetime, _InstantSchema()]
"""An aware date-time in years MIN_YEAR..MAX_YEAR, sent as RFC 3339 text with its offset."""


class _PrintableSchema:
    """JSON Schema of a PRINTABLE string: NO_CONTROL in place of the pattern."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        del json_schema["pattern"]
        return {**json_schema, **NO_CONTROL}


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""An id at the source (event, call, agent, ticket, survey)."""
OptionalName = Annotated[str, StringConstraints(max_length=100, pattern=PRINTABLE), _PrintableSchema()] | None
"""A queue or service name, if any: a metric label and a partition key, so without control characters."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE), _PrintableSchema()]
"""A queue or service name."""


class EventBase(BaseModel):
    """Fields every event carries: identity, schema version and when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    schema_version: int = Field(  # not Literal[1]: that takes `true` for 1, even in strict mode
        default=SCHEMA_VERSION, ge=SCHEMA_VERSION, le=SCHEMA_VERSION, json_schema_extra={"const": SCHEMA_VERSION},
        description="Version of this event schema.")
    event_id: Id = Field(description="Unique id; duplicates count once.")
    occurred_at: Instant = Field(description="When it happened at the source, with its UTC offset.")

    if TYPE_CHECKING:  # instance attributes set by `_stamp`, not fields
        @property
        def ts(self) -> float:
            """`occurred_at` in epoch seconds, set by validation: the core reads it several times per event."""

    @model_validator(mode="after")
    def _stamp(self) -> Self:
        """Set the epoch seconds the core reads (`ts`) once, as part of validation: a C-speed instance attribute
        from then on, not a property computed in Python on first read."""
        fields = self.__dict__
        fields["ts"] = fields["occurred_at"].timestamp()
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with `update`, its epoch seconds are set again from the updated fields."""
        copied = super().model_copy(update=update, deep=deep)
        return copied._stamp() if update else copied  # type: ignore[operator]  # pydantic leaves the function


class CallEventBase(EventBase):
    """A step in one call's life in one queue."""

    call_id: Id = Field(description="Id of the call at the source.")
    queue: Name = Field(description="Queue (skill, hotline) the call was offered to.")


class WaitedCall(CallEventBase):
    """A call event that says how long the call waited in queue (answered, abandoned): when it was offered follows."""

    if TYPE_CHECKING:  # a field of each subclass; an instance attribute set by `_stamp`
        @property
        def wait_seconds(self) -> float:
            """Seconds in queue."""

        @property
        def offered_ts(self) -> float:
            """`ts` - `wait_seconds`: when the call was offered, in epoch seconds, set by validation like `ts`."""

    @property
    def offered_at(self) -> datetime:
        """When the call entered the queue (to the microsecond)."""
        return self.occurred_at - timedelta(seconds=self.wait_seconds)

    @model_validator(mode="after")
    def _stamp(self) -> Self:
        """Set `ts` (as `EventBase._stamp` does: inlined, this is hot), then `offered_ts`, once."""
        fields = self.__dict__
        fields["ts"] = ts = fields["occurred_at"].timestamp()
        fields["offered_ts"] = ts - fields["wait_seconds"]
        return self


class CallOffered(CallEventBase):
    """The call entered the queue and waits for an agent."""

    type: Literal["call.offered"] = "call.offered"


class CallAnswered(WaitedCall):
    """An agent answered the call after it waited `wait_seconds` in queue."""

    type: Literal["call.answered"] = "call.answered"
    wait_seconds: float = Field(ge=0, le=86_400, description="Seconds in queue before the answer.")
    agent_id: str | None = Field(default=None, max_length=200, description="Agent who answered.")


class CallAbandoned(WaitedCall):
    """The caller hung up after waiting `wait_seconds` without an answer."""

    type: Literal["call.abandoned"] = "call.abandoned"
    wait_seconds: float = Field(ge=0, le=86_400, description="Seconds in queue before hanging up.")


class CallEnded(CallEventBase):
    """An answered call ended; carries the handling time split."""

    type: Literal["call.ended"] = "call.ended"
    talk_seconds: float = Field(ge=0, le=86_400, description="Seconds in conversation.")
    hold_seconds: float = Field(default=0, ge=0, le=86_400, description="Seconds on hold.")
    wrap_seconds: float = Field(default=0, ge=0, le=86_400, description="After-call work seconds.")
    offered_at: Instant | None = Field(
        default=None, description="When the call entered the queue, if known: talk and handle time then count in "
        "the window of the offer, like the other call KPIs (otherwise in the window of the end).")
    resolved_first_contact: bool | None = Field(  # optional, so schema 1 producers stay valid
        default=None, description="Whether the caller's issue was resolved in this contact (当场解决); "
        "first_contact_resolution counts the ended calls that say so, true or false.")


class AgentEventBase(EventBase):
    """A change of one agent's state in one queue: staffing, for forecasts. Travels on the calls topic keyed by
    the queue, so it shares the partition (and the order) of the queue's call events."""

    agent_id: Id = Field(description="Agent (login, extension) at the source.")
    queue: Name = Field(description="Queue (skill) the agent serves.")


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

    ticket_id: Id = Field(description="Id of the ticket at the source.")


class TicketCreated(TicketEventBase):
    """A ticket was opened; SLA clocks start here."""

    type: Literal["ticket.created"] = "ticket.created"
    category: str = Field(min_length=1, max_length=100, description="request, fault, complaint, ...")
    priority: str = Field(default="normal", max_length=50, description="Priority as the source names it.")
    channel: str | None = Field(default=None, max_length=50, description="phone, email, chat, web, ...")
    queue: OptionalName = Field(default=None, description="Team or queue that owns it.")


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


class TicketStatusChanged(TicketEventBase):
    """The ticket's status (and perhaps its priority) changed at the source: terms that declare `pause_on`
    statuses stop their clock while the ticket is in one of them; a new priority takes the term's target for it."""

    type: Literal["ticket.status_changed"] = "ticket.status_changed"
    status: str = Field(min_length=1, max_length=50, description="The status now, as the source names it (pending, "
                        "on_hold, in_progress, ...).")
    priority: str | None = Field(default=None, min_length=1, max_length=50, description="The priority now, if it "
                                 "changed (targets_by_priority then measures the new priority's target from creation).")


class TicketPaused(TicketEventBase):
    """The source stopped the ticket's SLA clock (e.g. waiting on the customer): terms with `pause_on_events` do not
    count the time until `ticket.resumed`."""

    type: Literal["ticket.paused"] = "ticket.paused"
    reason: str | None = Field(default=None, max_length=100, description="Why, as the source names it.")


class TicketResumed(TicketEventBase):
    """The source restarted a paused ticket's SLA clock."""

    type: Literal["ticket.resumed"] = "ticket.resumed"


class TicketCustomerReplied(TicketEventBase):
    """The customer wrote on the ticket (a public end-user comment, a caller's additional comment): a next-reply
    term starts a clock at the oldest message not yet answered, which the next agent reply stops."""

    type: Literal["ticket.customer_replied"] = "ticket.customer_replied"


TicketEvent = Annotated[
    TicketCreated | TicketFirstResponse | TicketUpdated | TicketResolved | TicketReopened | TicketClosed
    | TicketStatusChanged | TicketPaused | TicketResumed | TicketCustomerReplied,
    Field(discriminator="type"),
]
"""Any ticket event, told apart by its `type`."""


class SurveySubmitted(EventBase):
    """A customer answered a satisfaction survey."""

    type: Literal["survey.submitted"] = "survey.submitted"
    survey_id: Id
    csat_points: float | None = Field(default=None, ge=0, le=1_000_000,
                                      description="Satisfaction points on the contract scale.")
    nps_score: int | None = Field(default=None, ge=0, le=10, description="Likelihood to recommend, 0..10.")
    queue: OptionalName = None
    ticket_id: str | None = Field(default=None, max_length=200)
    call_id: str | None = Field(default=None, max_length=200)
    category: str | None = Field(  # optional, so schema 1 producers stay valid
        default=None, max_length=100, description="What the survey rates: the category of the contact or ticket "
        "(enquiry, fault, complaint, ...); survey terms filter on it with `categories`.")
    channel: str | None = Field(
        default=None, max_length=50, description="Channel of the rated contact (phone, email, chat, web, ...); "
        "survey terms filter on it with `channels`.")


class ServiceDown(EventBase):
    """A measured service became unavailable."""

    type: Literal["service.down"] = "service.down"
    service: Name


class ServiceUp(EventBase):
    """A measured service became available again."""

    type: Literal["service.up"] = "service.up"
    service: Name


class ServiceProbe(EventBase):
    """A periodic check: the service was up or not for the last `interval_seconds`."""

    type: Literal["service.probe"] = "service.probe"
    service: Name
    ok: bool
    interval_seconds: float = Field(gt=0, le=86_400)


Event = Annotated[
    CallOffered | CallAnswered | CallAbandoned | CallEnded | AgentLoggedIn | AgentReady | AgentNotReady
    | AgentLoggedOut | TicketCreated | TicketFirstResponse | TicketUpdated
    | TicketResolved | TicketReopened | TicketClosed | TicketStatusChanged | TicketPaused | TicketResumed
    | TicketCustomerReplied | SurveySubmitted | ServiceDown | ServiceUp | ServiceProbe,
    Field(discriminator="type"),
]
"""Any event cckpi consumes, told apart by its `type`."""

EVENT_TYPES: dict[str, type[EventBase]] = {
    model.model_fields["type"].default: model
    for model in (CallOffered, CallAnswered, CallAbandoned, CallEnded, AgentLoggedIn, AgentReady, AgentNotReady,
                  AgentLoggedOut, TicketCreated, TicketFirstResponse,
                  TicketUpdated, TicketResolved, TicketReopened, TicketClosed, TicketStatusChanged, TicketPaused,
                  TicketResumed, TicketCustomerReplied, SurveySubmitted, ServiceDown, ServiceUp, ServiceProbe)
}

