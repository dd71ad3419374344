"""`cckpi_consumer_lag_messages` of the call path counts from the committed offset: a batch that is fetched again
and again but never committed shows as lag, not as 0 (the fetch position runs ahead of what is done)."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from streams.app.loop import SourceLoop
from streams.app.settings import WorkerSettings
from streams.app.shell import StreamShell
from streams.core import Processor
from streams.kafka_io import topics
from streams.sinks import Metrics
from tests.helpers import terms


class FetchedNotCommitted:
    """A consumer that has fetched partition 0 to its end (100) but committed only up to 40; partition 1 never."""

    def highwater(self, tp: TopicPartition) -> int:
        return 100

    async def position(self, tp: TopicPartition) -> int:
        return 100

    async def committed(self, tp: TopicPartition) -> int | None:
        return 40 if tp.partition == 0 else None


def test_lag_is_what_is_not_committed_yet() -> None:
    metrics = Metrics()
    loop = SourceLoop(WorkerSettings(), StreamShell(Processor(terms()), metrics, idle_after=10), metrics)
    loop.consumer = FetchedNotCommitted()  # type: ignore[assignment]
    loop.owned = {(topics.CALLS, 0), (topics.CALLS, 1)}
    asyncio.run(loop.report_lag())
    lag = {p: metrics.registry.get_sample_value("cckpi_consumer_lag_messages", {"topic": topics.CALLS,
                                                                                "partition": str(p)})
           for p in (0, 1)}
    assert lag == {0: 60, 1: 0}  # nothing committed yet: the fetch position is all there is
