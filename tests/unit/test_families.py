"""The one table of event families: every event type has exactly one family, whose topic, key and scope the producer,
the core and the stream all take from it."""

from __future__ import annotations

from streams.kafka_io import topics
from streams.models.events import EVENT_TYPES
from streams.models.families import BY_NAME, FAMILIES, WHOLE, family_of, scope_of
from streams.models.families import routing_key as key_of
from tests.helpers import at, offered


def test_every_event_type_has_one_family_and_the_topics_are_the_kafka_topics() -> None:
    for cls in EVENT_TYPES.values():
        assert sum(issubclass(cls, f.models) for f in FAMILIES) == 1, cls
    assert tuple(f.topic for f in FAMILIES) == topics.EVENT_TOPICS
    assert {f.topic for f in FAMILIES if not f.partitioned} == topics.SINGLE_PARTITION


def test_scope_and_clock_of_calls_and_of_a_low_volume_family() -> None:
    call = offered(at("10:00"))
    calls = family_of(call)
    assert (calls.name, key_of(call), calls.scope(call), calls.clock("q1")) == ("calls", "q1", "q1", "calls:q1")
    assert scope_of(calls.clock("q1")) == "q1"
    tickets = BY_NAME["tickets"]
    assert (tickets.clock(WHOLE), scope_of(tickets.clock(WHOLE))) == ("tickets", WHOLE)
