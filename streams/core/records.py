"""What the core emits: closed-window results (and breaches among them) and late contributions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streams.core.verdict import Status

ClosedBy = Literal["watermark", "idle", "end_of_input", "late_event"]


@dataclass(frozen=True)
class WindowResult:
    """One window of one term for one scope, judged; a later revision supersedes an earlier one."""

    contract: str
    term: str
    kpi: str
    unit: str
    scope: str
    window_start: str
    window_end: str
    value: float | None
    numerator: float
    denominator: float
    threshold: float
    warning: float | None
    status: Status
    revision: int
    closed_by: ClosedBy

    @property
    def key(self) -> str:
        """Stable key of the window across revisions (the Kafka message key)."""
        return f"{self.contract}/{self.term}/{self.scope}/{self.window_start}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields of the `cckpi.kpi-windows` record (whole sums as integers)."""
        fields = _fields(self)
        fields["numerator"], fields["denominator"] = _whole(self.numerator), _whole(self.denominator)
        return {"key": self.key, **fields}

    def comparable(self) -> tuple[Any, ...]:
        """Fields that batch and stream must agree on (not how the window was closed)."""
        fields = _fields(self)
        fields.pop("closed_by")
        return tuple(sorted(fields.items()))


def _fields(record: object) -> dict[str, Any]:
    """A record's fields by name, in declaration order: records are flat (no nested dataclass), so a shallow copy
    of the instance dict is `dataclasses.asdict` at a fraction of its per-output cost."""
    return dict(record.__dict__)


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class LateContribution:
    """An event that belonged to a window closed longer ago than the term's retention."""

    term: str
    scope: str
    window_start: str
    event_id: str
    reason: str


@dataclass(frozen=True)
class OutsideContract:
    """An event that would feed a contract's terms outside the contract's effective period: reported, never judged
    (no window, no breach). One per event and contract."""

    contract: str
    scope: str
    event_id: str
    reason: str


@dataclass(frozen=True)
class RejectedEvent:
    """An event the core could not use, with the reason (batch only: the stream dead-letters it with this kind)."""

    event_id: str
    kind: str
    reason: str
    cause: str = ""
    """What to fix, for grouping the reports (e.g. the calendar that cannot classify the day)."""


@dataclass(frozen=True)
class DuplicateEvent:
    """An event whose id was already counted; it changes nothing."""

    scope: str
    event_id: str


@dataclass(frozen=True)
class ConflictingDuplicate:
    """An event whose id was already counted with other content: the first copy stands, this one changes nothing
    and is reported (the stream dead-letters it). Digests are 8 hex digits of each copy's content."""

    scope: str
    event_id: str
    first_digest: str
    digest: str

    @property
    def reason(self) -> str:
        """Why the event was not counted, for the dead letter."""
        return (f"event id {self.event_id!r} was already counted with other content (digest {self.first_digest}, "
                f"this copy {self.digest}): the first copy stands")


@dataclass(frozen=True)
class UnscopedEvent:
    """A valid event no contract's scope covers (a queue or service no contract names, a family none measures):
    it gets no state and no metric series of its own, only a count by family."""

    family: str
    event_id: str


@dataclass(frozen=True)
class TicketMissed:
    """One ticket missed one term's time limit: known at the deadline, or when a later event settled it."""

    contract: str
    term: str
    kpi: str
    ticket_id: str
    created_at: str
    deadline: str
    settled_at: str
    settled_by: str  # "deadline" or the event type that came too late

    @property
    def key(self) -> str:
        """Stable breach id of this ticket and term."""
        return f"{self.contract}/{self.term}/ticket/{self.ticket_id}"

    def to_breach(self) -> dict[str, Any]:
        """The `cckpi.breaches` record of a ticket-level breach."""
        return {"breach_id": self.key, "schema_version": BREACH_SCHEMA_VERSION, "kind": "ticket", "status": "breached",
                "severity": "breach", **_fields(self)}


@dataclass(frozen=True)
class TicketWarning:
    """One ticket's clock passed a declared share of a term's allowed time (`warn_at`) unsettled: `warning`, once
    per share; `settled`, when a warned clock is then settled (met or missed), so its alert resolves."""

    contract: str
    term: str
    kpi: str
    ticket_id: str
    created_at: str
    share: float
    """The share of the allowed time passed (the highest so far, for `settled`)."""
    warned_at: str
    """When the clock passed that share (event time)."""
    deadline: str | None
    """The deadline as it stood (None while paused)."""
    state: Literal["warning", "settled"]
    settled_at: str | None = None
    settled_by: str | None = None
    """`settled`: "deadline" or the event type that settled the clock."""

    @property
    def key(self) -> str:
        """Stable id of this ticket's warnings on this term (a missed ticket's breach id + `/warning`)."""
        return f"{self.contract}/{self.term}/ticket/{self.ticket_id}/warning"

    def to_breach(self) -> dict[str, Any]:
        """The `cckpi.breaches` record of a ticket warning (severity warning) or its end (severity none)."""
        return {"breach_id": self.key, "schema_version": BREACH_SCHEMA_VERSION, "kind": "ticket",
                "status": self.state, "severity": "warning" if self.state == "warning" else "none", **_fields(self)}


@dataclass(frozen=True)
class TicketSolvedLate:
    """A ticket that missed its deadline without being solved, solved since: the end of its delay, which a term
    priced per day late (`per: day_late`) counts up to (published on `cckpi.breaches` beside the miss)."""

    contract: str
    term: str
    kpi: str
    ticket_id: str
    created_at: str
    deadline: str
    solved_at: str
    solved_by: str
    """The event type that solved it (a stop event of the term's KPI)."""

    @property
    def key(self) -> str:
        """Stable id: the missed ticket's breach id + `/solved`."""
        return f"{self.contract}/{self.term}/ticket/{self.ticket_id}/solved"

    def to_breach(self) -> dict[str, Any]:
        """The `cckpi.breaches` record of the late solution (severity none: nothing to alert)."""
        return {"breach_id": self.key, "schema_version": BREACH_SCHEMA_VERSION, "kind": "ticket",
                "status": "solved_late", "severity": "none", **_fields(self)}


def is_late_solution(record: Mapping[str, Any]) -> bool:
    """True for the `cckpi.breaches` record of a missed ticket solved after its miss (`TicketSolvedLate`)."""
    return record.get("kind") == "ticket" and record.get("status") == "solved_late"


def is_ticket_miss(record: Mapping[str, Any]) -> bool:
    """True for the `cckpi.breaches` record of a missed ticket (not a ticket warning, nor a window step)."""
    return record.get("kind") == "ticket" and record.get("status", "breached") == "breached"


BreachState = Literal["warning", "breached", "recovered", "final"]
Basis = Literal["observed", "forecast"]


@dataclass(frozen=True)
class BreachUpdate:
    """A step in one window's breach lifecycle; idempotent by (breach id, revision).

    warning / breached / recovered while the window is open (its period-to-date value crossed a level);
    final when it closes (or is revised) with `status` the verdict. `revision` numbers the lifecycle steps of the
    breach id (1, 2, ...); `window_revision` is the revision of the window the step is about (0 = first published,
    n = its n-th late-data revision), the `revision` of `cckpi.kpi-windows` and of `cckpi compute`."""

    contract: str
    term: str
    kpi: str
    unit: str
    scope: str
    window_start: str
    window_end: str
    state: BreachState
    status: Status
    value: float | None
    numerator: float
    denominator: float
    threshold: float
    warning: float | None
    revision: int
    since: str
    sample: tuple[str, ...]
    basis: Basis = "observed"
    """observed: the window's value so far crossed a level; forecast: the queue model projects it will (then
    `value` is the projected value at the window's end, `state` only warning or recovered)."""
    window_revision: int = 0
    """The window's revision this step is about: 0 while it is open and when it first closes, n once n late-data
    revisions changed it (the `revision` of its `cckpi.kpi-windows` record)."""

    @property
    def key(self) -> str:
        """The breach id: the window's key (forecast warnings have their own id and revisions)."""
        window = f"{self.contract}/{self.term}/{self.scope}/{self.window_start}"
        return window + "/forecast" if self.basis == "forecast" else window

    @property
    def severity(self) -> str:
        """breach, warning, forecast or none (what an alert shows)."""
        if self.basis == "forecast":
            return "forecast" if self.state == "warning" else "none"
        if self.state == "final":
            return "breach" if self.status == "breached" else "none"
        return {"warning": "warning", "breached": "breach"}.get(self.state, "none")

    def to_breach(self) -> dict[str, Any]:
        """The `cckpi.breaches` record."""
        fields = _fields(self)
        fields["numerator"], fields["denominator"] = _whole(self.numerator), _whole(self.denominator)
        fields["sample"] = list(self.sample)
        return {"breach_id": self.key, "schema_version": BREACH_SCHEMA_VERSION, "kind": "window",
                "severity": self.severity, **fields}


BREACH_SCHEMA_VERSION = 4
"""Version of the `cckpi.breaches` record schema (`basis` and severity `forecast` were added compatibly in 2,
`window_revision` in 3, ticket warnings in 4)."""


@dataclass(frozen=True)
class TermForecast:
    """What the queue model says about one term's open window: the next interval, the window's end, the budget."""

    contract: str
    term: str
    kpi: str
    unit: str
    window_start: str
    window_end: str
    threshold: float
    predicted: float | None
    """The KPI over the next interval at the current staffing (None where the model says nothing, e.g. talk time)."""
    projected: float | None
    """The window's value after the next interval (or at its end, if sooner) if the calls in it go as predicted."""
    agents_needed: int | None
    """Fewest agents that meet the threshold in the next interval (service level and ASA terms)."""
    budget_contacts: int | None
    """Ratio terms: bad contacts the window can still absorb (negative: out of reach by that many)."""
    needed_value: float | None
    """Average terms: the mean the rest of the window needs."""
    expected_remaining: float
    """Contacts expected until the window's end at the current arrival rate."""
    at_risk: bool
    """The projection misses the threshold: a forecast warning is (or stays) raised."""
    expected_next: float = 0.0
    """Contacts expected in the next interval (what the projection adds)."""


@dataclass(frozen=True)
class QueueForecast:
    """The queue model of one scope at one minute of event time: load, staffing and the predicted measures."""

    scope: str
    at: str
    model: str
    """erlang_c, or erlang_a when abandonment is material."""
    calls_per_hour: float
    aht_seconds: float
    agents: int
    patience_seconds: float | None
    p_wait: float
    asa_seconds: float
    abandon_rate: float
    terms: tuple[TermForecast, ...]


Output = (WindowResult | LateContribution | DuplicateEvent | TicketMissed | TicketWarning | BreachUpdate
          | TicketSolvedLate | QueueForecast | OutsideContract | RejectedEvent | ConflictingDuplicate | UnscopedEvent)
