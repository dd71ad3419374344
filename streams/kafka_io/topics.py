"""Names of the Kafka topics cckpi reads and writes, and the one rule for how each is created and what it promises.

Pure (no I/O): `TopicLayout` is what an operator chooses (partitions, replication factor, dead-letter retention),
`topic_spec` turns it into each topic's partitions, replication and configs, `policy_problems` judges a topic that
already exists, and `answers_from` says from when a topic still holds every record. `streams.kafka_io.admin`
creates and describes the topics with them; `streams.report.records_source` refuses periods with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

CALLS = "cckpi.calls"
"""Call events, keyed by queue so all events of a queue share a partition."""
KPI_WINDOWS = "cckpi.kpi-windows"
"""Every closed window and its revisions, keyed by window."""
BREACHES = "cckpi.breaches"
"""Windows that breached their term, keyed by breach id."""
ESCALATIONS = "cckpi.escalations"
"""Escalation rights reached (e.g. 3 breaches in a quarter), keyed by escalation id; written by `cckpi ledger`."""
DEAD_LETTER = "cckpi.dead-letter"
"""Messages that could not be used, with the reason."""

OUTPUTS = (KPI_WINDOWS, BREACHES, DEAD_LETTER)
TICKETS = "cckpi.tickets"
"""Ticket events, keyed by ticket id so each ticket's life stays in order on one partition."""
SURVEYS = "cckpi.surveys"
"""Survey events, keyed by queue (or survey id when there is no queue)."""
AVAILABILITY = "cckpi.availability"
"""Service availability events (down, up, probes), keyed by service."""

EVENT_TOPICS = (CALLS, TICKETS, SURVEYS, AVAILABILITY)
"""Every topic that carries source events, one per event family."""

SINGLE_PARTITION = frozenset({TICKETS, SURVEYS, AVAILABILITY})
"""Low-volume topics with one partition, so one worker sees each source in order (see `app/shell.py`)."""

COMPACTED = frozenset({KPI_WINDOWS, BREACHES, ESCALATIONS})
"""Record topics whose consumers keep the latest record per key: compacted, so they answer every period for ever."""
CHANGELOG_SUFFIX = "-changelog"

DEFAULT_PARTITIONS = 4
DEFAULT_REPLICATION = 1
DAY_MS = 86_400_000
DEAD_LETTER_RETENTION_MS = 14 * DAY_MS
"""Dead letters are kept 14 days by default: long enough to look at and replay a weekend's worth of them."""


def changelog(app_id: str, topic: str) -> str:
    """The compacted changelog of a source topic's state for a worker group: `<app-id>-<topic>-changelog`."""
    return f"{app_id}-{topic}{CHANGELOG_SUFFIX}"


def is_changelog(name: str) -> bool:
    """True for a worker's state changelog (named by `changelog` or `pool_changelog`)."""
    return any(name.endswith(f"-{t}{CHANGELOG_SUFFIX}") for t in (*EVENT_TOPICS, POOL_PARTS.lstrip("-")))


POOL_PARTS = "-pool-parts"
"""Suffix of a worker group's internal topic of pooled terms' per-queue parts (`streams.core.pool`)."""


def pool_parts(app_id: str) -> str:
    """The compacted internal topic where each queue's engine publishes its parts of pooled windows, keyed by
    `contract/term/window/queue` and partitioned by `contract/term` (one merger per term): `<app-id>-pool-parts`."""
    return f"{app_id}{POOL_PARTS}"


def pool_changelog(app_id: str) -> str:
    """The compacted changelog of the pool stage's merge state: `<app-id>-pool-parts-changelog`."""
    return f"{pool_parts(app_id)}{CHANGELOG_SUFFIX}"


@dataclass(frozen=True)
class TopicLayout:
    """How an operator sizes the topics cckpi creates (`--partitions`, `--replication-factor`,
    `--dead-letter-retention`); one value passed to every topic creation."""

    partitions: int = DEFAULT_PARTITIONS
    """Partitions of `cckpi.calls` and the record topics (tickets, surveys and availability always get one)."""
    replication_factor: int = DEFAULT_REPLICATION
    dead_letter_retention_ms: int = DEAD_LETTER_RETENTION_MS

    def __post_init__(self) -> None:
        """Refuse sizes no broker accepts, with the option's name."""
        if self.partitions < 1:
            raise ValueError(f"--partitions must be 1 or more (got {self.partitions})")
        if self.replication_factor < 1:
            raise ValueError(f"--replication-factor must be 1 or more (got {self.replication_factor})")
        if self.dead_letter_retention_ms < 1:
            raise ValueError(f"--dead-letter-retention must be positive (got {self.dead_letter_retention_ms} ms)")

    def min_insync(self) -> int:
        """`min.insync.replicas` for acks=all writes: one replica may be down (2 of 3), never below 1."""
        return max(1, min(2, self.replication_factor - 1))


@dataclass(frozen=True)
class TopicSpec:
    """A topic as created: its name, partitions, replication factor and topic configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


def topic_spec(name: str, layout: TopicLayout, partitions: int | None = None) -> TopicSpec:
    """How cckpi creates `name`: record topics and changelogs compacted, dead letters deleted after their retention,
    event topics with the broker's retention; `min.insync.replicas` set when replicated. `partitions` overrides the
    layout's (a changelog has its source topic's)."""
    count = partitions or (1 if name in SINGLE_PARTITION else layout.partitions)
    configs = {"cleanup.policy": expected_policy(name)}
    if name == DEAD_LETTER:
        configs["retention.ms"] = str(layout.dead_letter_retention_ms)
    if layout.replication_factor > 1:
        configs["min.insync.replicas"] = str(layout.min_insync())
    return TopicSpec(name, count, layout.replication_factor, configs)


def expected_policy(name: str) -> str:
    """The cleanup policy a cckpi topic should have: `compact` for record topics and changelogs, else `delete`."""
    return "compact" if name in COMPACTED or is_changelog(name) or name.endswith(POOL_PARTS) else "delete"


def is_compact_only(policy: str | None) -> bool:
    """True when a cleanup policy never deletes by time or size (`compact`, not `compact,delete`)."""
    return policy is not None and {p.strip() for p in policy.split(",")} == {"compact"}


class TopicConfigError(ValueError):
    """An existing topic cckpi cannot work with; `str()` is one line naming it, its policy and why."""


def policy_problems(name: str, configs: Mapping[str, str]) -> list[str]:
    """Warnings about an existing topic's cleanup policy (one line each), or TopicConfigError for a changelog that
    is not compacted.

    A changelog that deletes by time or size loses the state of quiet clocks (a queue with no calls for a week, an
    open ticket): a restart would then restore part of a state and judge windows wrongly, with nothing said, so
    the worker refuses to start. A record topic that is not compacted only loses old records, which `report` and
    `ledger` then refuse to use for the periods they no longer cover, so it is a warning; so is a compacted event
    or dead-letter topic, which keeps only the last message per key.
    """
    policy = configs.get("cleanup.policy", "delete")
    wanted = expected_policy(name)
    if (wanted == "compact") == is_compact_only(policy):
        return []
    if is_changelog(name):
        raise TopicConfigError(
            f"{name} has cleanup.policy={policy}, but a state changelog must be compacted (cleanup.policy=compact): "
            f"older state would be deleted and a restart would restore part of it; set it with `kafka-configs.sh "
            f"--alter --entity-type topics --entity-name {name} --add-config cleanup.policy=compact`")
    if name.endswith(POOL_PARTS):
        return [f"{name} has cleanup.policy={policy}, not compact: pooled terms' parts older than the retention "
                f"are deleted, so a pool stage stopped for longer misses them"]
    if wanted == "compact":
        return [f"{name} has cleanup.policy={policy}, not compact: its records older than the retention are "
                f"deleted, and `cckpi report --from-topic` / `cckpi ledger --broker` refuse periods before them"]
    return [f"{name} has cleanup.policy={policy}, not delete: compaction keeps only the last message per key"]


@dataclass(frozen=True)
class PartitionLog:
    """What a partition still holds: its log start offset, its end offset, and the publish time (ms since the epoch)
    of its first retained message (None when none is left)."""

    partition: int
    start: int
    end: int
    first_timestamp_ms: int | None


@dataclass(frozen=True)
class Horizon:
    """From when a topic holds every record: `since` (None: since its start), and why."""

    since: datetime | None
    reason: str = ""


def answers_from(policy: str | None, logs: list[PartitionLog], now: datetime | None = None) -> Horizon:
    """From when a topic still answers every period. A compacted topic answers every period (the latest record per
    key is kept for ever). Otherwise a partition whose log start offset is past 0 has lost its first records: it
    answers from the publish time of its first retained message (every record of a window that starts later was
    published later), or from now when nothing is left; the topic answers from the latest of those. The policy may
    be unknown (None, the broker would not say): then only the offsets decide."""
    if is_compact_only(policy):
        return Horizon(None)
    since: Horizon = Horizon(None)
    for log in logs:
        if log.start <= 0:
            continue
        if log.first_timestamp_ms is None:
            moment = now or datetime.now(UTC)
            what = f"every record of partition {log.partition} was deleted (log start offset {log.start})"
        else:
            moment = datetime.fromtimestamp(log.first_timestamp_ms / 1000, UTC)
            what = f"partition {log.partition} starts at offset {log.start}"
        if since.since is None or moment > since.since:
            since = Horizon(moment, f"cleanup.policy={policy or 'unknown'}; {what}")
    return since
