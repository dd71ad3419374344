"""The rebalance listener of the worker's consumer loops: aiokafka's callbacks handed to the loop's own methods."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition


class Rebalanced(Protocol):
    """A loop that forgets revoked partitions and restores assigned ones (the source loop, the pool loop)."""

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None: ...

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None: ...


class Listener(ConsumerRebalanceListener):
    """Hands aiokafka's rebalance callbacks to a loop."""

    def __init__(self, loop: Rebalanced) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.loop.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.loop.on_assigned(assigned)
