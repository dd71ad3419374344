"""Publishing says what became of every event: `cckpi replay`/`simulate` with no broker print one line and exit 2,
and the delivery bookkeeping counts acknowledged, failed and abandoned sends (the outage itself, on a real broker, is
tests/integration/test_replay_delivery.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.kafka_io.publish import Deliveries, DeliveryFailed
from streams.sim.producer import Published
from tools.brokers import free_port

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "adapters" / "anonymous-bank-01.txt"
DEMO = ROOT / "contracts" / "examples" / "demo.yaml"


def command(name: str, broker: str) -> list[str]:
    """`cckpi replay` of a small file, or `cckpi simulate` of an hour, to `broker`."""
    if name == "replay":
        return ["replay", "--source", "anonymous-bank", str(SAMPLE), "--broker", broker, "--as-fast-as-possible"]
    return ["simulate", "-c", str(DEMO), "--broker", broker, "--duration", "3600", "--as-fast-as-possible"]


@pytest.mark.parametrize("name", ["replay", "simulate"])
def test_no_broker_listening_is_one_line_and_exit_2(name: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, command(name, address))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert lines == [lines[0]] and lines[0].startswith(f"error: no Kafka broker answered at {address} within 10 s")
    assert "Traceback" not in result.output and "Unable connect" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("name", ["replay", "simulate"])
@pytest.mark.parametrize("broker", ["127.0.0.1:notaport", "kafka://", "127.0.0.1:0", "h:9092,"])
def test_a_broker_address_that_is_none_is_one_line_and_exit_2(name: str, broker: str) -> None:
    result = CliRunner().invoke(app, command(name, broker))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("error: not a broker address:"), result.stderr
    assert "Traceback" not in result.output


def test_the_delivery_timeout_is_an_option_of_both_commands() -> None:
    for name in ("replay", "simulate"):
        result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert "--delivery-timeout" in result.output, result.output


async def test_deliveries_are_settled_in_order_and_failures_are_counted_and_retrieved() -> None:
    loop = asyncio.get_running_loop()
    deliveries = Deliveries(timeout=60)
    first, second, third = loop.create_future(), loop.create_future(), loop.create_future()
    for future in (first, second, third):
        deliveries.add(future)
    second.set_result(None)
    deliveries.settle()
    assert (deliveries.acked, deliveries.failed, len(deliveries.pending)) == (0, 0, 3)  # the oldest is not done
    first.set_result(None)
    third.set_exception(ConnectionError("broker gone"))
    deliveries.settle()
    assert (deliveries.acked, deliveries.failed, len(deliveries.pending)) == (2, 1, 0)
    assert deliveries.stuck()  # a failed batch leaves a sequence gap: sending more is pointless
    await deliveries.drain()  # nothing left: returns at once


async def test_a_delivery_past_the_timeout_is_overdue_and_given_up_as_unacknowledged() -> None:
    loop = asyncio.get_running_loop()
    deliveries = Deliveries(timeout=0.05)
    acknowledged, lost = loop.create_future(), loop.create_future()
    deliveries.add(lost)
    deliveries.add(acknowledged)
    acknowledged.set_result(None)
    assert not deliveries.overdue()
    await asyncio.wait_for(deliveries.drain(), timeout=10)  # returns once `lost` is overdue, not for ever
    assert deliveries.overdue() and deliveries.stuck()
    deliveries.give_up()
    assert (deliveries.acked, deliveries.failed, len(deliveries.pending)) == (1, 1, 0)


def test_the_loss_is_said_with_counts() -> None:
    counts = Published(events=1000, acknowledged=880, unacknowledged=120)
    text = str(DeliveryFailed(counts, 30))
    assert text.startswith("120 of 1,000 events sent were not acknowledged by the broker within 30 s")
    assert "880 were acknowledged" in text and "later ones were not sent" in text and "\n" not in text
    assert DeliveryFailed(counts, 30).exit_code == 1
