"""One shell for every event family: each source partition's messages through its own engine, its writes in its own
partition of the one key layout, restored and forgotten per partition."""

from __future__ import annotations

import orjson

from streams.app.emitter import RawMessage
from streams.app.shell import BatchResult, StreamShell
from streams.contracts import parse_contract
from streams.core import Processor, compile_terms
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import TicketCreated
from streams.sinks import Metrics
from tests.helpers import CONTRACT, abandoned, answered, at
from tests.unit.test_tickets_surveys_availability import HELPDESK, ev

TERMS = compile_terms([parse_contract(CONTRACT), parse_contract(HELPDESK)])
CALLS0, CALLS1, TICKETS = (topics.CALLS, 0), (topics.CALLS, 1), (topics.TICKETS, 0)


def mixed() -> list[RawMessage]:
    """Calls of q1 (partition 0) and q2 (partition 1) interleaved with a ticket, as one fetch brings them."""
    q1 = [answered(at("10:01")), abandoned(at("10:02")), abandoned(at("10:03"))]
    ticket = ev(TicketCreated, at("17:58"), ticket_id="t1", category="fault")
    return [RawMessage(b"q1", encode_event(q1[0]), topics.CALLS, 0, 0),
            RawMessage(b"t1", encode_event(ticket), topics.TICKETS, 0, 0),
            RawMessage(b"q2", encode_event(answered(at("10:01"), queue="q2")), topics.CALLS, 1, 0),
            *[RawMessage(b"q1", encode_event(e), topics.CALLS, 0, i) for i, e in enumerate(q1[1:], 1)]]


def calls_clocks(shell: StreamShell) -> dict[str, int]:
    """The calls states the shell holds: their clock and the partition of its engine."""
    return {clock: partition for (topic, partition), engine in shell.engines.items() if topic == topics.CALLS
            for clock in engine.states}


def tables(result: BatchResult) -> dict[tuple[str, int], dict[bytes, bytes]]:
    out: dict[tuple[str, int], dict[bytes, bytes]] = {}
    for source, key, value in result.writes():
        if value is not None:
            out.setdefault(source, {})[key] = value
    return out


def test_every_family_goes_through_one_shell_and_writes_to_its_own_partition() -> None:
    shell = StreamShell(Processor(TERMS), Metrics(), idle_after=10)
    result = shell.on_batch(mixed(), stored={}, wall_now=at("18:00").timestamp())
    assert not [v for t, _k, v in result.sends if t == topics.DEAD_LETTER]
    stored = tables(result)
    assert set(stored) == {CALLS0, CALLS1, TICKETS}
    assert b"state:calls:q1" in stored[CALLS0] and b"state:calls:q2" in stored[CALLS1]
    assert {b"state:tickets", b"ticket:t1"} <= set(stored[TICKETS])
    assert calls_clocks(shell) == {"calls:q1": 0, "calls:q2": 1}
    breaches = [orjson.loads(v) for t, _k, v in result.sends if t == topics.BREACHES]
    assert [b["scope"] for b in breaches] == ["q1"]  # 1 of 3 answered, while the window is open

    second = StreamShell(Processor(TERMS), Metrics(), idle_after=10)  # another worker takes every partition over
    for source, table in stored.items():
        second.warm(source, table.items())
    assert calls_clocks(second) == {"calls:q1": 0, "calls:q2": 1}
    engine = second.engine(topics.TICKETS)
    assert engine is not None and set(engine.ticket_book.tickets) == {"t1"}
    second.forget([CALLS1])  # a rebalance takes partition 1 away: only its queue is dropped
    assert calls_clocks(second) == {"calls:q1": 0} and second.engine(topics.TICKETS) is engine


def test_a_tick_moves_only_the_clocks_of_its_partition() -> None:
    shell = StreamShell(Processor(TERMS), Metrics(), idle_after=5)
    result = shell.on_batch(mixed(), stored={}, wall_now=at("18:00").timestamp())
    stored = tables(result)
    tick = shell.on_tick(TICKETS, stored[TICKETS].items(), wall_now=at("09:14").timestamp() + 86400)
    assert {source for source, _k, _v in tick.writes()} == {TICKETS}
    breaches = [orjson.loads(v) for t, _k, v in tick.sends if t == topics.BREACHES]
    assert [(b["kind"], b["ticket_id"]) for b in breaches if b["kind"] == "ticket"][:1] == [("ticket", "t1")]
    windows = {orjson.loads(v)["scope"] for t, _k, v in tick.sends if t == topics.KPI_WINDOWS}
    assert "q1" not in windows and "q2" not in windows
