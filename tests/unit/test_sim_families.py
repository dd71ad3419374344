"""The ticket, survey and availability simulators: deterministic per seed, in time order, plausible, and their
tickets, outages and bad days breach the demo contract's terms; the family choice of `cckpi simulate`."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.core.records import TicketMissed
from streams.models.events import EventBase
from streams.sim.availability import Monitoring, simulate_availability
from streams.sim.callcenter import Traffic, simulate
from streams.sim.families import (
    DEFAULT_FAMILIES,
    DEMO_FAMILIES,
    SIM_FAMILIES,
    parse_families,
    publish_topic,
    simulate_families,
    world_of,
)
from streams.sim.producer import topic_for
from streams.sim.surveys import Panel, simulate_surveys
from streams.sim.tickets import Desk, simulate_tickets
from tests.helpers import at

ROOT = Path(__file__).parents[2]
CENTRE = ROOT / "contracts" / "examples" / "demo-centre.yaml"
DAY = 86400.0


def in_order(events: Sequence[EventBase]) -> bool:
    return [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)


def tickets(seed: int, seconds: float = DAY) -> list[Any]:
    return list(simulate_tickets(at("00:00"), seconds, Desk(), seed, "run", ["general", "cards"]))


def test_tickets_are_deterministic_per_seed_in_time_order_and_plausible() -> None:
    events = tickets(3)
    assert events == tickets(3) and events != tickets(4)
    assert in_order(events) and len({e.event_id for e in events}) == len(events)
    counts = Counter(e.type for e in events)
    assert 12 * 24 * 0.7 < counts["ticket.created"] < 12 * 24 * 1.3  # 12 an hour
    assert counts["ticket.created"] >= counts["ticket.first_response"] > counts["ticket.created"] * 0.9
    assert counts["ticket.resolved"] >= counts["ticket.closed"] > 0 and counts["ticket.reopened"] > 0
    created = Counter(getattr(e, "category", None) for e in events if e.type == "ticket.created")
    assert set(created) == {"request", "fault", "complaint"} and created["complaint"] > 10
    for ticket in {e.ticket_id for e in events}:
        life = [e.type for e in events if e.ticket_id == ticket]
        assert life[0] == "ticket.created"
        assert "ticket.closed" not in life or life[-1] == "ticket.closed"


def test_a_longer_horizon_keeps_the_tickets_of_a_shorter_one() -> None:
    short, long = tickets(5, DAY / 4), tickets(5, DAY)
    assert short == [e for e in long if e.occurred_at <= at("06:00")]


def test_surveys_and_availability_are_deterministic_in_order_and_plausible() -> None:
    surveys = list(simulate_surveys(at("00:00"), 3 * DAY, Panel(scale_max=10), 7, "run", ["general"]))
    assert surveys == list(simulate_surveys(at("00:00"), 3 * DAY, Panel(scale_max=10), 7, "run", ["general"]))
    assert in_order(surveys) and 8 * 72 * 0.7 < len(surveys) < 8 * 72 * 1.3
    points = [s.csat_points for s in surveys]
    assert set(points) <= {2.0, 4.0, 6.0, 8.0, 10.0}  # 1..5 stars on a 10-point scale
    services = list(simulate_availability(["ivr", "crm"], at("00:00"), DAY, Monitoring(), 7, "run"))
    assert services == list(simulate_availability(["ivr", "crm"], at("00:00"), DAY, Monitoring(), 7, "run"))
    assert in_order(services) and len({e.event_id for e in services}) == len(services)
    downs = Counter(e.service for e in services if e.type == "service.down")
    assert set(downs) == {"ivr", "crm"}  # both have outages, reported every 5 minutes while they last
    gaps = [b.occurred_at - a.occurred_at for a, b in itertools.pairwise(services)]
    assert max(gaps) <= timedelta(minutes=5)  # reports keep the clock moving


def centre_results(hours: float, seed: int = 1) -> tuple[list[WindowResult], list[TicketMissed]]:
    contract = load_contract(CENTRE)
    events = simulate_families(SIM_FAMILIES, world_of([contract]), at("00:00"), hours * 3600, seed, "run")
    out = compute(events, compile_terms([contract]))
    return [o for o in out if isinstance(o, WindowResult)], [o for o in out if isinstance(o, TicketMissed)]


def test_the_simulated_centre_breaches_every_kind_of_term_of_the_demo_contract() -> None:
    results, missed = centre_results(3 * 24)
    status = Counter((r.term, r.status) for r in results)
    for term in ("first-response-30m", "availability-1h", "complaints-closed-24h", "csat-day"):
        assert status[(term, "breached")] > 0, term
    for term in ("first-response-30m", "updated-4h", "availability-1h", "resolution-8h", "csat-day"):
        assert status[(term, "met")] > 0, term  # breaches come from the backlog, outages, bad days: not always
    assert status[("first-response-30m", "met")] > status[("first-response-30m", "breached")]
    assert {m.term for m in missed} >= {"first-response-30m", "complaints-closed-24h"}


def test_adding_families_leaves_the_calls_of_a_seed_as_they_were() -> None:
    world = world_of([load_contract(CENTRE)])
    calls = list(simulate(world.queues, at("09:00"), 3600, Traffic(), 2, "run"))
    mixed = list(simulate_families(SIM_FAMILIES, world, at("09:00"), 3600, 2, "run"))
    assert [e for e in mixed if topic_for(e) == "cckpi.calls"] == calls
    assert {topic_for(e) for e in mixed} == {"cckpi.calls", "cckpi.tickets", "cckpi.surveys", "cckpi.availability"}
    assert in_order(mixed)


def test_family_choice() -> None:
    assert DEFAULT_FAMILIES == ("calls",) and DEMO_FAMILIES == SIM_FAMILIES
    assert parse_families(" surveys,calls ,surveys") == ("calls", "surveys")
    for bad in ("", "calls,faxes"):
        with pytest.raises(ValueError, match="choose from calls, tickets, surveys, availability"):
            parse_families(bad)
    assert publish_topic(("calls",), "my.calls") == "my.calls"
    assert publish_topic(SIM_FAMILIES) is topic_for
    with pytest.raises(ValueError, match="takes calls alone"):
        publish_topic(("calls", "tickets"), "my.calls")
    world = world_of([load_contract(CENTRE), load_contract(ROOT / "contracts" / "examples" / "demo.yaml")])
    assert (world.queues, world.services, world.scale_max) == (("cards", "general"), ("crm", "ivr"), 5.0)
