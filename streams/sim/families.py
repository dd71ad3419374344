"""Which event families the simulator feeds, and the one stream of all of them: the single place that knows
`cckpi simulate`'s default (calls only, as the compose stack expects) and the demo's (every family).

Each family comes from its own pure generator with its own random streams, so adding a family leaves the events of
the others as they were (the calls of a seed are the same with or without tickets).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from streams.contracts.model import Contract
from streams.kafka_io.topics import CALLS as CALLS_TOPIC
from streams.models.events import Event
from streams.sim.availability import Monitoring, simulate_availability
from streams.sim.callcenter import Traffic, simulate
from streams.sim.producer import TopicChooser, topic_for
from streams.sim.surveys import Panel, simulate_surveys
from streams.sim.tickets import Desk, simulate_tickets

SIM_FAMILIES: tuple[str, ...] = ("calls", "tickets", "surveys", "availability")
"""Every family the simulator can feed (calls include agent state events)."""
DEFAULT_FAMILIES: tuple[str, ...] = ("calls",)
"""`cckpi simulate` without `--families`: calls and agent states only, as the compose stack runs it."""
DEMO_FAMILIES: tuple[str, ...] = SIM_FAMILIES
"""What `cckpi demo` feeds: everything, so every dashboard has data."""
FAMILIES_HELP = (f"Event families to feed, comma-separated, of {','.join(SIM_FAMILIES)} (calls include agent "
                 "states); each goes to its family's topic.")
DEFAULT_SERVICES: tuple[str, ...] = ("portal",)
"""Services monitored when no contract names any."""


def parse_families(text: str) -> tuple[str, ...]:
    """`calls,tickets` -> ("calls", "tickets") in SIM_FAMILIES order; ValueError naming what is unknown or empty."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(SIM_FAMILIES))
    if unknown or not names:
        raise ValueError(f"unknown event families {', '.join(unknown) or '(none given)'}: "
                         f"choose from {', '.join(SIM_FAMILIES)}")
    return tuple(f for f in SIM_FAMILIES if f in names)


def families_option(families: Sequence[str]) -> str:
    """The `--families` value that selects these families."""
    return ",".join(families)


@dataclass(frozen=True)
class World:
    """What the contracts name for the simulator: call queues, monitored services, the satisfaction scale."""

    queues: tuple[str, ...]
    services: tuple[str, ...] = DEFAULT_SERVICES
    scale_max: float = 5.0


def world_of(contracts: Iterable[Contract]) -> World:
    """The queues and services of the contracts' scopes and terms, and the scale of their satisfaction terms."""
    contracts = list(contracts)
    queues = sorted({q for c in contracts for q in c.scope.queues})
    services = sorted({s for c in contracts for s in c.scope.services}
                      | {s for c in contracts for t in c.terms for s in t.services or ()})
    scales = [t.scale_max for c in contracts for t in c.terms if t.kpi == "csat_average" and t.scale_max]
    return World(tuple(queues), tuple(services) or DEFAULT_SERVICES, max(scales, default=5.0))


@dataclass(frozen=True)
class Mix:
    """How each family behaves: call traffic, the service desk, the survey panel, the monitoring."""

    traffic: Traffic = field(default_factory=Traffic)
    desk: Desk = field(default_factory=Desk)
    panel: Panel = field(default_factory=Panel)
    monitoring: Monitoring = field(default_factory=Monitoring)


def simulate_families(families: Sequence[str], world: World, start: datetime, seconds: float, seed: int,
                      run_id: str, mix: Mix | None = None) -> Iterator[Event]:
    """The chosen families' events merged in time order, as a contact center's platforms would publish them."""
    mix = mix or Mix()
    make = {
        "calls": lambda: simulate(world.queues, start, seconds, mix.traffic, seed, run_id),
        "tickets": lambda: simulate_tickets(start, seconds, mix.desk, seed, run_id, world.queues),
        "surveys": lambda: simulate_surveys(start, seconds, replace(mix.panel, scale_max=world.scale_max), seed, run_id,
                                            world.queues),
        "availability": lambda: simulate_availability(world.services, start, seconds, mix.monitoring, seed, run_id),
    }
    streams: list[Iterator[Event]] = [make[f]() for f in families]
    return heapq.merge(*streams, key=lambda e: e.occurred_at)


def publish_topic(families: Sequence[str], calls_topic: str = CALLS_TOPIC) -> str | TopicChooser:
    """Where the simulator publishes: `calls_topic` for calls alone (any name), else each event on its family's
    topic; ValueError for another calls topic beside other families (only the family topics are created)."""
    if tuple(families) == ("calls",):
        return calls_topic
    if calls_topic != CALLS_TOPIC:
        raise ValueError(f"--topic {calls_topic} takes calls alone: with other families every event goes to its "
                         "family's topic")
    return topic_for
