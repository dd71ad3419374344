"""A discrete-event simulation of inbound queues (Erlang-A): Poisson arrivals, exponential talk
times and patience, a staffing level that dips for a while each hour. Pure: yields events in time order.

Staffing is published as agent state events: every agent logs in and gets ready at the start; when the staffing
dips, the agents above the dip level go not ready (even ones, on a break) or log out (odd ones), and come back
(logging in again first) when it ends. Agent events take no random draws, so the calls are those of a run
without them.
"""

from __future__ import annotations

import heapq
import random
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from streams.models.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
)


@dataclass(frozen=True)
class Traffic:
    """Load and staffing of one queue; the dip repeats every hour of simulated time."""

    calls_per_minute: float = 4.0
    talk_mean_seconds: float = 150.0
    wrap_mean_seconds: float = 15.0
    patience_mean_seconds: float = 90.0
    agents: int = 16
    dip_agents: int = 7
    dip_start_minute: float = 5.0
    dip_end_minute: float = 20.0

    def staffed(self, minutes_since_start: float) -> int:
        """Agents on duty at this point of the simulation."""
        minute = minutes_since_start % 60
        return self.dip_agents if self.dip_start_minute <= minute < self.dip_end_minute else self.agents


def simulate_queue(queue: str, start: datetime, seconds: float, traffic: Traffic, rng: random.Random,
                   run_id: str) -> Iterator[CallEvent]:
    """Events of one queue for `seconds` of simulated time from `start`, in time order."""
    heap: list[tuple[float, int, str, int]] = []
    seq = 0

    def schedule(at: float, kind: str, call: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (at, seq, kind, call))

    arrivals: dict[int, float] = {}
    answered_at: dict[int, float] = {}
    offered_at: dict[int, float] = {}
    waiting: deque[int] = deque()
    busy = 0
    rate = traffic.calls_per_minute / 60.0
    schedule(rng.expovariate(rate), "arrive", 0)
    schedule(60.0, "staff", -1)  # staffing changes happen on the minute

    def ident(call: int) -> str:
        return f"{run_id}-{queue}-{call}"

    def at(t: float) -> datetime:
        return start + timedelta(seconds=t)

    ready, away = traffic.agents, set[int]()  # agents 0..ready-1 take calls; `away` logged out
    changes = 0

    def agent_event(kind: type[AgentLoggedIn | AgentReady | AgentNotReady | AgentLoggedOut], agent: int,
                    now: float) -> CallEvent:
        nonlocal changes
        changes += 1
        return kind(event_id=f"{run_id}-{queue}-agent{agent}-{changes}", agent_id=f"{queue}-agent{agent}",
                    queue=queue, occurred_at=at(now))

    def restaff(now: float) -> Iterator[CallEvent]:
        nonlocal ready
        target = traffic.staffed(now / 60)
        for agent in range(target, ready):  # leaving: a break (not ready) or logged out
            if agent % 2:
                away.add(agent)
                yield agent_event(AgentLoggedOut, agent, now)
            else:
                yield agent_event(AgentNotReady, agent, now)
        for agent in range(ready, target):  # back
            if agent in away:
                away.discard(agent)
                yield agent_event(AgentLoggedIn, agent, now)
            yield agent_event(AgentReady, agent, now)
        ready = target

    for agent in range(traffic.agents):
        yield agent_event(AgentLoggedIn, agent, 0.0)
        yield agent_event(AgentReady, agent, 0.0)
    ready = traffic.agents
    yield from restaff(0.0)

    def serve(now: float) -> Iterator[CallEvent]:
        nonlocal busy
        while waiting and busy < traffic.staffed(now / 60):
            call = waiting.popleft()
            busy += 1
            cid = ident(call)
            yield CallAnswered(event_id=f"{cid}:a", call_id=cid, queue=queue, occurred_at=at(now),
                               wait_seconds=round(now - arrivals.pop(call), 3), agent_id=f"{queue}-agent")
            answered_at[call] = now
            schedule(now + rng.expovariate(1 / traffic.talk_mean_seconds), "end", call)

    while heap:
        now, _, kind, call = heapq.heappop(heap)
        if now > seconds and kind in ("arrive", "staff"):
            continue
        if kind == "arrive":
            cid = ident(call)
            arrivals[call] = offered_at[call] = now
            waiting.append(call)
            yield CallOffered(event_id=f"{cid}:o", call_id=cid, queue=queue, occurred_at=at(now))
            schedule(now + rng.expovariate(1 / traffic.patience_mean_seconds), "patience", call)
            schedule(now + rng.expovariate(rate), "arrive", call + 1)
        elif kind == "patience" and call in arrivals:
            waiting.remove(call)
            offered_at.pop(call)
            cid = ident(call)
            yield CallAbandoned(event_id=f"{cid}:x", call_id=cid, queue=queue, occurred_at=at(now),
                                wait_seconds=round(now - arrivals.pop(call), 3))
        elif kind == "end":
            cid = ident(call)
            wrap = rng.expovariate(1 / traffic.wrap_mean_seconds)
            yield CallEnded(event_id=f"{cid}:e", call_id=cid, queue=queue, occurred_at=at(now),
                            talk_seconds=round(now - answered_at.pop(call), 3), wrap_seconds=round(wrap, 3),
                            offered_at=at(offered_at.pop(call)), resolved_first_contact=resolved_first(cid))
            schedule(now + wrap, "free", call)
        elif kind == "free":
            busy -= 1
        elif kind == "staff":
            schedule(now + 60.0, "staff", -1)
            yield from restaff(now)
        yield from serve(now)


FIRST_CONTACT_SHARE = 0.8
"""Share of answered calls the simulated agents resolve at first contact (for `first_contact_resolution`)."""


def resolved_first(call_id: str) -> bool:
    """Whether a simulated call was resolved at first contact: a digest of its id, so the call streams (and their
    random sequences) stay what they were."""
    return zlib.crc32(call_id.encode()) % 1000 < FIRST_CONTACT_SHARE * 1000


def simulate(queues: Sequence[str], start: datetime, seconds: float, traffic: Traffic, seed: int,
             run_id: str) -> Iterator[CallEvent]:
    """All queues merged in time order: the stream a contact-center platform would publish."""
    streams = [simulate_queue(q, start, seconds, traffic, random.Random(f"{seed}-{q}"), run_id) for q in queues]
    return heapq.merge(*streams, key=lambda e: e.occurred_at)
