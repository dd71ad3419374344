"""The sink interface: what every output sink receives (each core output once, in order, with the Kafka message it
came from and the batch's sends) and how it flushes, and the fan-out that hands outputs to the sinks.

Outputs are routed by type through a table built once, so the worker's hot path pays one dict lookup per output
whatever the number of sinks (no isinstance chain). Sinks are wired in one place: `streams.sinks.wiring`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol, get_args

from streams.core.records import Output

Send = tuple[str, bytes, bytes]
"""(topic, key, value) of a message to produce."""


class Consumed(Protocol):
    """What the shells read of a consumed Kafka message: aiokafka's `ConsumerRecord` as fetched (no copy is made
    per message on the worker's hot path), or a `RawMessage`."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


class RawMessage(NamedTuple):
    """One consumed Kafka message built by hand (batch tools, tests): a `Consumed`."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int


Handler = Callable[[Any, list[Send], Consumed | None], None]
"""Takes one output, the batch's sends (a sink that produces Kafka records appends them) and the consumed message
the output came from (None for outputs of a tick or the idle timer)."""


class Sink(Protocol):
    """An output sink: the core output types it takes, each with its handler, and a flush that delivers what it
    holds (HTTP sinks post; in-process sinks have nothing to deliver)."""

    def routes(self) -> Mapping[type[Any], Handler]:
        """Output types (a class also takes its subclasses; `object` takes everything) and their handlers."""
        ...

    async def flush(self) -> int:
        """Deliver what is pending, never raising for a delivery failure (keep it for the next flush); returns how
        many items were delivered. Called by the worker's timer."""
        ...


class Sinks:
    """The fan-out: every output goes to the handlers of the sinks that take its type, in the sinks' order."""

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks = tuple(sinks)
        self._taken = [(cls, handler) for sink in self.sinks for cls, handler in sink.routes().items()]
        self.table: dict[type[Any], tuple[Handler, ...]] = {cls: self._resolve(cls) for cls in get_args(Output)}
        """Handlers per output type, resolved once (other types on first sight)."""

    def _resolve(self, cls: type[Any]) -> tuple[Handler, ...]:
        return tuple(handler for taken, handler in self._taken if issubclass(cls, taken))

    def emit(self, outputs: list[Output], sends: list[Send], msg: Consumed | None) -> None:
        """Hand each output to its handlers."""
        table = self.table
        for out in outputs:
            handlers = table.get(type(out))
            if handlers is None:
                handlers = table[type(out)] = self._resolve(type(out))
            for handle in handlers:
                handle(out, sends, msg)

    async def flush(self) -> int:
        """Flush every sink; returns how many items they delivered."""
        return sum([await sink.flush() for sink in self.sinks])
