"""`cckpi simulate`: publish realistic call traffic for a contract's queues."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streams.cli.common import contracts_or_exit, publish_or_exit
from streams.cli.errors import UserError
from streams.cli.kafka_options import with_kafka_security
from streams.cli.options import (
    Broker,
    ContractFiles,
    DeliveryTimeout,
    LogFormat,
    LogFormatOption,
    LogLevel,
    LogLevelOption,
    setup_command_logging,
)
from streams.cli.topic_options import Partitions, ReplicationFactor, topic_layout
from streams.kafka_io import topics
from streams.kafka_io.connect import bootstrap_servers
from streams.kafka_io.publish import DELIVERY_TIMEOUT
from streams.kafka_io.security import PLAINTEXT, KafkaSecurity
from streams.kafka_io.topics import DEFAULT_PARTITIONS, DEFAULT_REPLICATION
from streams.sim.callcenter import Traffic
from streams.sim.families import (
    DEFAULT_FAMILIES,
    FAMILIES_HELP,
    Mix,
    families_option,
    parse_families,
    publish_topic,
    simulate_families,
    world_of,
)
from streams.sim.producer import Pacing, Published, publish


@with_kafka_security
def simulate_command(
    contract: ContractFiles,
    broker: Broker = "kafka://127.0.0.1:9092",
    kafka_security: KafkaSecurity = PLAINTEXT,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 60.0,
    as_fast_as_possible: Annotated[bool, typer.Option(help="Ignore --speed; publish without pauses.")] = False,
    duration: Annotated[float | None, typer.Option(help="Simulated seconds to run (default: forever).")] = None,
    start: Annotated[str | None, typer.Option(help="Simulated start, ISO 8601 (default: now, to the quarter).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same events.")] = 1,
    calls_per_minute: Annotated[float, typer.Option(help="Arrival rate per queue.")] = 4.0,
    agents: Annotated[int, typer.Option(help="Agents per queue outside the dip.")] = 16,
    dip_agents: Annotated[int, typer.Option(help="Agents per queue during the hourly dip (minutes 5-20).")] = 7,
    bad_every: Annotated[int, typer.Option(help="Send a malformed message every N events (0: never).")] = 0,
    late_every: Annotated[int, typer.Option(help="Hold back every N-th event by 20 simulated minutes.")] = 0,
    topic: Annotated[str, typer.Option(help="Topic to publish to.")] = topics.CALLS,
    families: Annotated[str, typer.Option(help=FAMILIES_HELP)] = families_option(DEFAULT_FAMILIES),
    delivery_timeout: DeliveryTimeout = DELIVERY_TIMEOUT,
    partitions: Partitions = DEFAULT_PARTITIONS,
    replication_factor: ReplicationFactor = DEFAULT_REPLICATION,
    log_level: LogLevelOption = LogLevel.warning,
    log_format: LogFormatOption = LogFormat.text,
) -> None:
    """Simulate inbound calls (Poisson arrivals, exponential talk and patience, an hourly staffing dip
    that breaches the answer rate) for the queues of the contract, and publish them keyed by queue. With
    `--families` also tickets (a desk backlog every 4 hours, escalated complaints), surveys (a bad day every 3 days)
    and availability (the services of the contracts, an outage every 8 hours), each on its family's topic.

    Every event is acknowledged by the broker (acks=all, idempotent producer), as in `cckpi replay`: exit 1 with the
    count of unacknowledged events past `--delivery-timeout`, 2 when no broker answers at start.

    **Examples**

    - `cckpi simulate -c contracts/examples/demo.yaml --broker 127.0.0.1:9092` (one simulated minute per second)
    - `cckpi simulate -c contracts/examples/demo.yaml --duration 7200 --as-fast-as-possible --seed 7`
    - `cckpi simulate -c contracts/examples/demo.yaml --bad-every 500 --late-every 300`
    - `cckpi simulate -c contracts/examples/demo-centre.yaml --families calls,tickets,surveys,availability`
    """
    setup_command_logging(log_level, log_format)
    contracts = contracts_or_exit(contract)
    try:
        chosen = parse_families(families)
        target = publish_topic(chosen, topic)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    world = world_of(contracts)
    tz = ZoneInfo(contracts[0].timezone)
    if start is None:
        now = datetime.now(tz)
        begin = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    else:
        begin = datetime.fromisoformat(start)
        if begin.tzinfo is None:
            begin = begin.replace(tzinfo=tz)
    seconds = duration if duration is not None else 10 * 365 * 86400.0
    traffic = Traffic(calls_per_minute=calls_per_minute, agents=agents, dip_agents=dip_agents)
    events = simulate_families(chosen, world, begin, seconds, seed, secrets.token_hex(3), Mix(traffic=traffic))
    pacing = Pacing(speed=None if as_fast_as_possible else speed, bad_every=bad_every, late_every=late_every)
    calls_only = duration is not None and chosen == ("calls",)  # a progress total only where it is known
    expected = len(world.queues) * calls_per_minute * duration / 60 * 2.8 if calls_only and duration else None
    with Progress(TextColumn("simulate"), BarColumn(), TextColumn("{task.fields[line]}"), TimeElapsedColumn(),
                  transient=False) as progress:
        task = progress.add_task("sim", total=expected, line="")

        def on_sent(p: Published) -> None:
            progress.update(task, completed=p.events, line=f"{p.events} events, {p.bad} bad, {p.late} late")

        publish_or_exit(publish(events, bootstrap_servers(broker, kafka_security), target, pacing, on_sent,
                                delivery_timeout=delivery_timeout,
                                layout=topic_layout(partitions, replication_factor)), progress)
        progress.update(task, total=progress.tasks[0].completed)
