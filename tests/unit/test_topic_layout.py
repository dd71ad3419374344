"""How cckpi creates its topics (one `TopicLayout`, one `topic_spec`), how it judges existing ones, from when a topic
still answers a period, and which options reach the layout."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import typer
from typer.testing import CliRunner

from streams.cli.main import app
from streams.cli.topic_options import topic_layout
from streams.contracts.loader import parse_contract
from streams.kafka_io import topics
from streams.kafka_io.topics import PartitionLog, TopicConfigError, TopicLayout, answers_from, policy_problems
from streams.ledger.book import HISTORY_START, lookback_start
from tests.unit.test_report import CONTRACT, PENALISED

CHANGELOG = topics.changelog("cckpi", topics.CALLS)


def test_record_topics_and_changelogs_are_compacted_dead_letters_kept_14_days() -> None:
    layout = TopicLayout()
    for name in (topics.KPI_WINDOWS, topics.BREACHES, topics.ESCALATIONS, CHANGELOG):
        assert topics.topic_spec(name, layout).configs == {"cleanup.policy": "compact"}, name
    assert topics.topic_spec(topics.DEAD_LETTER, layout).configs == {
        "cleanup.policy": "delete", "retention.ms": str(14 * 86_400_000)}
    assert topics.topic_spec(topics.CALLS, layout).configs == {"cleanup.policy": "delete"}


def test_partitions_and_replication_reach_every_topic() -> None:
    layout = TopicLayout(partitions=8, replication_factor=3, dead_letter_retention_ms=3_600_000)
    specs = {n: topics.topic_spec(n, layout) for n in (*topics.EVENT_TOPICS, *topics.OUTPUTS)}
    assert {n: s.partitions for n, s in specs.items()} == {
        n: 1 if n in topics.SINGLE_PARTITION else 8 for n in specs}
    assert {s.replication_factor for s in specs.values()} == {3}
    assert {s.configs["min.insync.replicas"] for s in specs.values()} == {"2"}
    assert specs[topics.DEAD_LETTER].configs["retention.ms"] == "3600000"
    changelog = topics.topic_spec(topics.changelog("app", topics.TICKETS), layout, partitions=1)
    assert (changelog.name, changelog.partitions, changelog.replication_factor) == ("app-cckpi.tickets-changelog", 1, 3)


@pytest.mark.parametrize(("replicas", "insync"), [(1, None), (2, "1"), (3, "2"), (5, "2")])
def test_min_insync_replicas_lets_one_replica_be_down(replicas: int, insync: str | None) -> None:
    configs = topics.topic_spec(topics.BREACHES, TopicLayout(replication_factor=replicas)).configs
    assert configs.get("min.insync.replicas") == insync


@pytest.mark.parametrize("bad", [{"partitions": 0}, {"replication_factor": 0}, {"dead_letter_retention_ms": 0}])
def test_a_layout_no_broker_accepts_is_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        TopicLayout(**bad)


def test_an_uncompacted_changelog_is_refused_other_wrong_policies_warned() -> None:
    for policy in ("delete", "compact,delete"):
        with pytest.raises(TopicConfigError, match=f"{CHANGELOG} has cleanup.policy={policy}.*must be compacted"):
            policy_problems(CHANGELOG, {"cleanup.policy": policy})
    assert policy_problems(CHANGELOG, {"cleanup.policy": "compact"}) == []
    [windows] = policy_problems(topics.KPI_WINDOWS, {"cleanup.policy": "delete", "retention.ms": "604800000"})
    assert "cckpi.kpi-windows has cleanup.policy=delete, not compact" in windows
    assert policy_problems(topics.KPI_WINDOWS, {}) != []  # the broker's default policy is delete
    assert "not delete" in policy_problems(topics.DEAD_LETTER, {"cleanup.policy": "compact"})[0]
    assert "not delete" in policy_problems(topics.CALLS, {"cleanup.policy": "compact"})[0]
    assert policy_problems(topics.CALLS, {"cleanup.policy": "delete"}) == []


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_a_compacted_or_untruncated_topic_answers_every_period() -> None:
    truncated = [PartitionLog(0, 5, 9, _ms("2026-10-10T00:00:00+00:00"))]
    assert answers_from("compact", truncated).since is None
    assert answers_from("delete", [PartitionLog(0, 0, 9, _ms("2026-10-10T00:00:00+00:00"))]).since is None
    assert answers_from("compact,delete", truncated).since == datetime(2026, 10, 10, tzinfo=UTC)


def test_a_truncated_topic_answers_from_its_latest_first_retained_record() -> None:
    logs = [PartitionLog(0, 5, 9, _ms("2026-10-10T00:00:00+00:00")),
            PartitionLog(1, 0, 9, _ms("2026-01-01T00:00:00+00:00")),
            PartitionLog(2, 3, 7, _ms("2026-10-12T06:00:00+00:00"))]
    horizon = answers_from("delete", logs)
    assert horizon.since == datetime(2026, 10, 12, 6, tzinfo=UTC)
    assert "partition 2 starts at offset 3" in horizon.reason and "cleanup.policy=delete" in horizon.reason
    assert answers_from(None, logs).since == horizon.since  # the policy unknown: the offsets decide


def test_a_partition_that_lost_every_record_answers_only_from_now() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    horizon = answers_from("delete", [PartitionLog(0, 4, 4, None)], now=now)
    assert horizon.since == now and "every record of partition 0 was deleted" in horizon.reason


def test_a_ledger_needs_the_breaches_its_escalations_count() -> None:
    quarterly = parse_contract(PENALISED)  # escalation within: quarter
    assert lookback_start(quarterly, "2026-11") == date(2026, 10, 1)
    assert lookback_start(parse_contract(CONTRACT), "2026-11") == date(2026, 11, 1)  # no escalation
    whole = parse_contract(PENALISED.replace("within: quarter", "within: contract"))
    assert lookback_start(whole, "2026-11") == HISTORY_START
    yearly = parse_contract(PENALISED.replace("within: quarter", "within: year"))
    assert lookback_start(yearly, "2026-Q4") == date(2026, 1, 1)


def test_a_bad_dead_letter_retention_is_a_usage_error() -> None:
    assert topic_layout(2, 3, "12h") == TopicLayout(2, 3, 12 * 3_600_000)
    with pytest.raises(typer.BadParameter, match="not a duration"):
        topic_layout(dead_letter_retention="two weeks")


def test_worker_options_and_variables_reach_the_settings(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["worker", "-c", "contracts/examples/demo.yaml", "--print-config",
                                      "--config-format", "json", "--partitions", "6",
                                      "--dead-letter-retention", "2d"], env={"CCKPI_REPLICATION_FACTOR": "3"})
    assert result.exit_code == 0, result.output
    assert '"partitions": 6' in result.stdout and '"replication_factor": 3' in result.stdout
    assert f'"dead_letter_retention_ms": {2 * 86_400_000}' in result.stdout


@pytest.mark.parametrize("command", ["replay", "simulate", "worker"])
def test_every_creating_command_offers_the_layout_options(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "--replication-factor" in result.stdout and "--partitions" in result.stdout


def test_pooled_terms_topics_are_compacted_and_judged_like_the_others() -> None:
    parts, changelog = topics.pool_parts("app"), topics.pool_changelog("app")
    assert (parts, changelog) == ("app-pool-parts", "app-pool-parts-changelog")
    for name in (parts, changelog):
        assert topics.topic_spec(name, TopicLayout(), partitions=4).configs == {"cleanup.policy": "compact"}, name
    with pytest.raises(TopicConfigError, match=f"{changelog} has cleanup.policy=delete.*must be compacted"):
        policy_problems(changelog, {"cleanup.policy": "delete"})
    [warning] = policy_problems(parts, {"cleanup.policy": "delete"})
    assert warning.startswith(f"{parts} has cleanup.policy=delete, not compact: pooled terms' parts")
    assert policy_problems(parts, {"cleanup.policy": "compact"}) == []
