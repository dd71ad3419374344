"""A queue's smoothed load and staffing, and its forecast warnings: the part of a scope's state the breach
forecasts (`streams.core.forecast`) keep. Its own module so the state can hold it without importing the forecasts.

Load, from the queue's events: arrivals (call.offered) per minute smoothed exponentially over ~15 minutes; mean
handle time (talk + hold + wrap of call.ended) and mean patience (total queue wait of answered and abandoned calls
over the number abandoned: the estimator of an exponential patience with answered calls as censored) smoothed over
~an hour. Staffing: agents whose last state event is `agent.ready`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from streams.models.events import (
    AgentEventBase,
    AgentLoggedOut,
    AgentReady,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Event,
)

STATE_VERSION = 1
ARRIVAL_DECAY = math.exp(-1 / 15)
"""Per-minute weight of past arrivals: the arrival rate follows the last ~15 minutes."""
SLOW_DECAY = math.exp(-1 / 60)
"""Per-minute weight of past handle times, waits and abandons: the last ~hour."""
MAX_CATCH_UP = 24 * 60
"""Minutes after which smoothed sums have decayed to nothing (a long quiet gap is not looped minute by minute)."""


def track_agent(agents: dict[str, bool], event: AgentEventBase) -> None:
    """Apply one agent state event to a queue's logged-in agents (agent -> ready): the forecasts' staffing and the
    staffing floor (`streams.core.staffing`) read the same rule."""
    if isinstance(event, AgentLoggedOut):
        agents.pop(event.agent_id, None)
    else:
        agents[event.agent_id] = isinstance(event, AgentReady)


@dataclass
class TermAlert:
    """The forecast warning level of one term: which window it is about, whether raised, and its revisions."""

    window_start: float
    raised: bool = False
    revision: int = 0
    since: float = 0.0


@dataclass
class QueueLoad:
    """Smoothed load and the staffing of one queue, and its forecast warnings; part of the scope's state."""

    minute: int = -1
    """Minute of event time (epoch // 60) the current arrivals bucket belongs to; -1 before the first event."""
    bucket: int = 0
    arrivals: float = 0.0
    """Decayed sum of per-minute arrival counts of completed minutes."""
    weight: float = 0.0
    """Decayed count of completed minutes (so the rate is right from the start)."""
    handle: float = 0.0
    handled: float = 0.0
    waited: float = 0.0
    answered: float = 0.0
    abandoned: float = 0.0
    agents: dict[str, bool] = field(default_factory=dict)
    """Logged-in agents: True when ready (staffed), False when logged in but not ready."""
    alerts: dict[str, TermAlert] = field(default_factory=dict)

    @property
    def staffed(self) -> int:
        """Agents ready to take calls."""
        return sum(self.agents.values())

    def observe(self, event: Event) -> None:
        """Count one event of the queue in the current minute and the smoothed sums."""
        if isinstance(event, CallOffered):
            self.bucket += 1
        elif isinstance(event, CallAnswered):
            self.waited += event.wait_seconds
            self.answered += 1
        elif isinstance(event, CallAbandoned):
            self.waited += event.wait_seconds
            self.abandoned += 1
        elif isinstance(event, CallEnded):
            self.handle += event.talk_seconds + event.hold_seconds + event.wrap_seconds
            self.handled += 1
        elif isinstance(event, AgentEventBase):
            track_agent(self.agents, event)

    def roll(self, minute: int) -> bool:
        """Close the minutes before `minute`; True when at least one closed (time for a forecast)."""
        if self.minute < 0:
            self.minute = minute
            return False
        gap = minute - self.minute
        if gap <= 0:
            return False
        steps = min(gap, MAX_CATCH_UP)
        fast, slow = ARRIVAL_DECAY**steps, SLOW_DECAY**steps
        self.arrivals = self.arrivals * fast + self.bucket * ARRIVAL_DECAY ** (steps - 1)
        self.weight = self.weight * fast + (1 - fast) / (1 - ARRIVAL_DECAY)
        self.handle, self.handled = self.handle * slow, self.handled * slow
        self.waited, self.answered, self.abandoned = self.waited * slow, self.answered * slow, self.abandoned * slow
        self.bucket, self.minute = 0, minute
        return True

    def to_json(self) -> list[Any]:
        """Compact, versioned form for the scope state."""
        return [STATE_VERSION, self.minute, self.bucket, self.arrivals, self.weight, self.handle, self.handled,
                self.waited, self.answered, self.abandoned, self.agents,
                {k: [a.window_start, a.raised, a.revision, a.since] for k, a in self.alerts.items()}]

    @classmethod
    def from_json(cls, data: list[Any]) -> QueueLoad:
        """Inverse of to_json (version 1)."""
        version, *fields = data
        if version != STATE_VERSION:
            raise ValueError(f"unknown forecast state version {version}")
        minute, bucket, arrivals, weight, handle, handled, waited, answered, abandoned, agents, alerts = fields
        return cls(minute, bucket, arrivals, weight, handle, handled, waited, answered, abandoned, dict(agents),
                   {k: TermAlert(*a) for k, a in alerts.items()})
