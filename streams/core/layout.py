"""The one key layout and codec of stream state, for every event family (pure: no I/O).

Each source partition's state is a set of entries, stored in that partition of its topic's changelog:
`state:<clock>` (event-time clock and windows, see `ScopeState`; the clock is the queue for calls, the family name
otherwise), `seen:<clock>@<hour>.<part>` (event ids, see `SeenIds`), `ticket:<id>` (open ticket clocks) and
`service:<name>` (last availability transition).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import orjson

from streams.core.batch import Engine
from streams.core.processor import Processor
from streams.core.state import ScopeState
from streams.core.terms import TermIndex

Write = tuple[bytes, bytes | None]
"""(store key, value or None to delete)."""
STATE, SEEN, TICKET, SERVICE = b"state:", b"seen:", b"ticket:", b"service:"


def state_key(clock: bytes) -> bytes:
    """Key of a clock's state entry."""
    return STATE + clock


def seen_key(clock: bytes, part: str) -> bytes:
    """Key of one stored part of a clock's seen event ids (`<hour>.<part>`, see `SeenIds`)."""
    return SEEN + clock + b"@" + part.encode()


def read_once(key: bytes) -> bool:
    """Entries read only when a partition is assigned (into the decoded states), so not kept in memory after a write:
    the seen ids."""
    return key.startswith(SEEN)


def load_state(clock: bytes, get: Callable[[bytes], bytes | None]) -> ScopeState:
    """A clock's state from the store (empty if none), its seen ids read through `get` too."""
    return ScopeState.from_bytes(get(state_key(clock)), lambda part: get(seen_key(clock, part)))


def state_writes(clock: bytes, state: ScopeState) -> list[Write]:
    """Store writes of a changed state: its new (and forgotten) seen-id parts, then the state, which lists them."""
    writes: list[Write] = [(seen_key(clock, part), value) for part, value in state.seen.take_writes()]
    writes.append((state_key(clock), state.to_bytes()))
    return writes


def load_engine(terms: TermIndex, stored: Iterable[tuple[bytes, bytes]], processor: Processor | None = None) -> Engine:
    """An engine holding one partition's state, rebuilt from its entries (over `processor`, if given)."""
    engine = Engine(terms, processor)
    entries: Mapping[bytes, bytes] = dict(stored)
    for key, value in entries.items():
        kind, _, name = key.partition(b":")
        if kind == b"state":
            engine.states[name.decode()] = load_state(name, entries.get)
        elif kind == b"ticket":
            engine.ticket_book.load_ticket(name.decode(), value)
        elif kind == b"service":
            up, since = orjson.loads(value)
            engine.service_book.status[name.decode()] = (up, since)
    return engine


def engine_writes(engine: Engine) -> list[Write]:
    """Store writes for everything the engine changed since the last call: tickets and services, then states."""
    book = engine.ticket_book
    writes: list[Write] = [(TICKET + t.encode(), book.ticket_bytes(t)) for t in sorted(book.dirty)]
    book.dirty.clear()
    services = engine.service_book
    for name in sorted(services.dirty):
        status = services.status.get(name)
        writes.append((SERVICE + name.encode(), None if status is None else orjson.dumps(status)))
    services.dirty.clear()
    for clock in sorted(engine.dirty):
        writes += state_writes(clock.encode(), engine.states[clock])
    engine.dirty.clear()
    return writes
