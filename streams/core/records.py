"""What the core emits: closed-window results (and breaches among them) and late contributions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
        fields = asdict(self)
        fields["numerator"], fields["denominator"] = _whole(self.numerator), _whole(self.denominator)
        return {"key": self.key, **fields}

    def to_breach(self) -> dict[str, Any]:
        """The `cckpi.breaches` record: the window's fields under a stable breach id."""
        return {"breach_id": self.key, "schema_version": 1, "kind": "window", **self.to_dict()}

    def comparable(self) -> tuple[Any, ...]:
        """Fields that batch and stream must agree on (not how the window was closed)."""
        fields = asdict(self)
        fields.pop("closed_by")
        return tuple(sorted(fields.items()))


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
class DuplicateEvent:
    """An event whose id was already counted; it changes nothing."""

    scope: str
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
        return {"breach_id": self.key, "schema_version": 1, "kind": "ticket", "status": "breached", **asdict(self)}


Output = WindowResult | LateContribution | DuplicateEvent | TicketMissed
