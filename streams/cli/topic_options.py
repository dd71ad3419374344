"""Options that size the topics a command creates (`worker`, `replay`, `simulate`), declared once so their names,
checks, variables and help agree; each command turns them into one `TopicLayout` with `topic_layout`."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.options import setting
from streams.contracts.model import parse_duration
from streams.kafka_io.topics import DEFAULT_PARTITIONS, DEFAULT_REPLICATION, TopicLayout

DEAD_LETTER_RETENTION = "14d"
"""Default `--dead-letter-retention`: the `retention.ms` of `cckpi.dead-letter` when the worker creates it."""

Partitions = Annotated[int, setting(
    "--partitions", min=1, help="Partitions of the topics created (`cckpi.calls`, the record topics; tickets, "
    "surveys and availability always get one). Existing topics keep theirs.")]
ReplicationFactor = Annotated[int, setting(
    "--replication-factor", min=1, help="Replicas of every topic created (at most the number of brokers); above 1, "
    "min.insync.replicas is set so that one replica may be down.")]
DeadLetterRetention = Annotated[str, setting(
    "--dead-letter-retention", help="How long `cckpi.dead-letter` keeps a dead letter when the worker creates it "
    "(30m, 12h, 14d).")]


def topic_layout(partitions: int = DEFAULT_PARTITIONS, replication_factor: int = DEFAULT_REPLICATION,
                 dead_letter_retention: str = DEAD_LETTER_RETENTION) -> TopicLayout:
    """The layout the options ask for; a bad value is a usage error (one line, exit 2)."""
    try:
        return TopicLayout(partitions, replication_factor, parse_duration(dead_letter_retention) * 1000)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dead-letter-retention") from None
