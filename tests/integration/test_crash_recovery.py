"""Failures in the middle of a replay never change a KPI: a worker killed with SIGKILL and restarted, and a broker
down for 30 s and restarted, both end with exactly the batch result (state comes back from the changelog;
re-delivered events are recognised by id and counted once)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io import topics
from tests.integration.support import consume_until, metric, worker_process
from tests.integration.test_replay_month import CONTRACT, final_january, january_and_february
from tools.brokers import ApacheKafkaBroker

pytestmark = pytest.mark.integration


ARGS = ("--idle-after", "3600", "--max-future-days", "100000")


def expected_january() -> dict[str, tuple]:
    computed = CliRunner().invoke(app, ["compute", "-c", str(CONTRACT), "--source", "anonymous-bank",
                                        *january_and_february()])
    return final_january([json.loads(line) for line in computed.stdout.splitlines() if line.startswith("{")])


def replay(broker: ApacheKafkaBroker, files: list[str] | None = None) -> None:
    files = january_and_february() if files is None else files
    replayed = CliRunner().invoke(app, ["replay", "--source", "anonymous-bank", *files, "--broker", broker.url,
                                        "--as-fast-as-possible"])
    assert replayed.exit_code == 0, replayed.output[-2000:]


def wait_for_progress(url: str, offered: int) -> None:
    deadline = time.monotonic() + 120
    while (metric(url, "cckpi_events_total", type="call.offered") or 0) < offered:
        assert time.monotonic() < deadline, "the worker did not get going"
        time.sleep(0.2)


def restores(workdir: Path) -> list[str]:
    """The worker's 'restored partitions [..] of cckpi.calls: N changelog records' lines, oldest first."""
    return [line for line in (workdir / "worker.log").read_text(errors="replace").splitlines()
            if "restored partitions" in line]


def owned(workdir: Path) -> set[int]:
    """The calls partitions a worker owns by its last restore line (rebalances are eager: each one logs all)."""
    lines = restores(workdir)
    return {int(p) for p in lines[-1].split("[")[-1].split("]")[0].split(",")} if lines else set()


def wait_until_split(*workdirs: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        shares = [owned(w) for w in workdirs]
        if all(shares) and sum(map(len, shares)) == len(set().union(*shares)):
            return
        assert time.monotonic() < deadline, f"the group did not split: {shares}"
        time.sleep(0.2)


def wait_until_owned(workdir: Path, partitions: set[int]) -> None:
    deadline = time.monotonic() + 120
    while owned(workdir) != partitions:
        assert time.monotonic() < deadline, f"{workdir} never owned {partitions}: {restores(workdir)}"
        time.sleep(0.2)


def test_sigkill_mid_replay_then_restart_gives_exact_results(tmp_path: Path) -> None:
    expected = expected_january()
    args = ("--app-id", "it-crash", *ARGS)
    with ApacheKafkaBroker() as broker:
        replay(broker)
        with worker_process(broker.url, tmp_path, *args, contract=CONTRACT) as url:
            wait_for_progress(url, 40_000)
            pid = int((tmp_path / "worker.pid").read_text())
            os.killpg(pid, signal.SIGKILL)  # mid-stream: about a quarter of the events processed
        (tmp_path / "second").mkdir()
        with worker_process(broker.url, tmp_path / "second", *args, contract=CONTRACT) as url:
            got = asyncio.run(consume_until(broker.bootstrap, topics.KPI_WINDOWS,
                                            lambda rs: final_january(rs).keys() >= expected.keys(), 240))
            duplicates = metric(url, "cckpi_events_duplicate_total") or 0
    finals = final_january(got)
    assert {k: v[:4] for k, v in finals.items()} == {k: v[:4] for k, v in expected.items()}  # values, not revisions
    print(f"re-delivered after the crash and counted once: {duplicates:.0f} events")


def test_broker_down_for_30_seconds_mid_replay_gives_exact_results(tmp_path: Path) -> None:
    expected = expected_january()
    with ApacheKafkaBroker() as broker:
        replay(broker)
        with worker_process(broker.url, tmp_path, "--app-id", "it-broker-restart", *ARGS, contract=CONTRACT) as url:
            wait_for_progress(url, 20_000)
            broker.restart(down_for=30)  # the worker must find its way back by itself
            got = asyncio.run(consume_until(broker.bootstrap, topics.KPI_WINDOWS,
                                            lambda rs: final_january(rs).keys() >= expected.keys(), 240))
    finals = final_january(got)
    assert {k: v[:4] for k, v in finals.items()} == {k: v[:4] for k, v in expected.items()}



def test_two_workers_one_killed_the_survivor_takes_over_exactly(tmp_path: Path) -> None:
    expected = expected_january()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    args = ("--app-id", "it-takeover", *ARGS)
    with ApacheKafkaBroker() as broker, \
            worker_process(broker.url, tmp_path / "a", *args, contract=CONTRACT) as survivor, \
            worker_process(broker.url, tmp_path / "b", *args, contract=CONTRACT) as victim:
        # The group is split before any event arrives, so the victim's share starts at offset 0 whatever the speed
        # of the machine (a worker started after the replay may find its share already processed by the first).
        wait_until_split(tmp_path / "a", tmp_path / "b")
        replay(broker, january_and_february()[:1])
        wait_for_progress(victim, 1_000)  # any 2 of the 4 partitions hold more than 1,000 offered calls
        os.killpg(int((tmp_path / "b" / "worker.pid").read_text()), signal.SIGKILL)
        # January's last windows stay open until February's events pass them: the survivor can only close them
        # with the victim's state, restored from the changelog.
        wait_until_owned(tmp_path / "a", {0, 1, 2, 3})
        replay(broker, january_and_february()[1:])
        got = asyncio.run(consume_until(broker.bootstrap, topics.KPI_WINDOWS,
                                        lambda rs: final_january(rs).keys() >= expected.keys(), 240))
        taken_over = metric(survivor, "cckpi_events_total", type="call.offered") or 0
    finals = final_january(got)
    assert {k: v[:4] for k, v in finals.items()} == {k: v[:4] for k, v in expected.items()}
    lines = restores(tmp_path / "a")
    read = int(lines[-1].split(": ")[-1].split()[0])
    assert 0 < read < 17_000, lines  # takeover reads the state changelog, not the 176,690 replayed events again
    print(f"the survivor processed {taken_over:.0f} offered calls; restores: {lines}")
