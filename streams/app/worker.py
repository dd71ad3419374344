"""The Faust application: topics, the state table, the agents and the tick timer around StreamShell.

Windows are closed by the core's event-time watermark, not by Faust's windowed tables (which close by
wall clock and lose close callbacks); Faust gives us consumption, a changelog-backed table and timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any, get_args

import faust
import httpx
from faust.streams import _current_event  # Faust routes a table write to the partition of this event

from streams.app import topics
from streams.app.calls import CallsLoop, observe_close_delay
from streams.app.emitter import RawMessage
from streams.app.low_volume import LowVolumeShell
from streams.app.process import STOP_DEADLINE, Backoff, exit_after, limit_repeats
from streams.app.settings import WorkerSettings
from streams.app.shell import StreamShell
from streams.contracts.model import Contract
from streams.core.processor import Processor
from streams.core.terms import TermIndex, compile_terms
from streams.core.verdict import Status
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.credentials import HttpCredentials
from streams.sinks.metrics import Metrics

log = logging.getLogger(__name__)


def raw_messages(batch: Sequence[faust.EventT]) -> list[RawMessage]:
    """The consumed events as the shells take them."""
    return [RawMessage(e.message.key, e.message.value, e.message.topic, e.message.partition, e.message.offset)
            for e in batch]


def put(table: Any, key: bytes, value: bytes | None) -> None:
    """Write a table entry, or delete it for None (the current event decides the changelog partition)."""
    if value is not None:
        table[key] = value
    elif key in table:
        del table[key]


def build_app(settings: WorkerSettings, contracts: Sequence[Contract], metrics: Metrics,
              alert_credentials: HttpCredentials | None = None) -> faust.App:
    """A Faust app that checks the given contracts; run it with `run_worker`. `alert_credentials` authenticate
    the posts to `settings.alertmanager_url`."""
    terms = compile_terms(contracts)
    for key, reason in terms.skipped:
        log.warning("term %s is not checked: %s", key, reason)
    metrics.set_terms(terms.by_key.values())
    start_counters(metrics, terms)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(settings.datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        table_standby_replicas=0,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        stream_wait_empty=False,
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout,
        broker_rebalance_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
    )
    low_volume = app.topic(*sorted(topics.SINGLE_PARTITION), key_type=bytes, value_type=bytes, partitions=1)
    low_ticks = app.topic(topics.LOW_VOLUME_TICKS, key_type=bytes, value_type=bytes, partitions=1, internal=True)
    low_table = app.Table("cckpi-low-volume-state", partitions=1, key_type=bytes, value_type=bytes)
    low = LowVolumeShell(terms, metrics, settings.idle_after, settings.max_future)
    outputs = {name: app.topic(name, key_type=bytes, value_type=bytes) for name in topics.OUTPUTS}
    shell = StreamShell(Processor(terms), metrics, settings.idle_after, settings.max_future)
    calls = CallsLoop(settings, shell, metrics)

    async def apply_low(writes: list[tuple[bytes, bytes | None]], sends: list[tuple[str, bytes, bytes]],
                        event: faust.EventT, consumed: float) -> None:
        """Outputs first and acknowledged, then the state that made them (see `CallsLoop._apply`)."""
        pending = [await outputs[name].send(key=key, value=value) for name, key, value in sends]
        if pending:
            await asyncio.gather(*pending)
        _current_event.set(weakref.ref(event))
        for key, value in writes:
            put(low_table, key, value)
        await app.producer.flush()  # the state is durable before these events are acknowledged and committed
        observe_close_delay(metrics, sends, consumed)

    @app.agent(low_volume, name="cckpi-low-volume")
    async def process_low_volume(stream: Any) -> None:
        async for batch in stream.take_events(settings.batch_max, within=settings.batch_within):
            consumed = time.monotonic()
            with metrics.batch_seconds.time():
                await apply_low(*low.on_batch(raw_messages(batch), low_table.items()), batch[-1], consumed)

    @app.agent(low_ticks, name="cckpi-low-volume-ticks")
    async def process_low_volume_ticks(stream: Any) -> None:
        async for event in stream.events():
            consumed = time.monotonic()
            await apply_low(*low.on_tick(low_table.items()), event, consumed)

    @app.task
    async def process_calls() -> None:
        """The call path runs outside Faust's per-event stream (see `streams.app.calls`); restarted on errors,
        ever later (up to 10 s) while it keeps failing, e.g. with the broker down."""
        backoff = Backoff()
        while True:
            started = time.monotonic()
            try:
                await calls.run()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():  # the worker is stopping
                    raise
                # aiokafka lets an internal cancellation escape when the broker vanishes for longer than a session
                delay = backoff.after(time.monotonic() - started)
                log.warning("call path interrupted by the Kafka client; restarting it in %.0f s", delay)
                await asyncio.sleep(delay)
            except Exception:
                delay = backoff.after(time.monotonic() - started)
                log.exception("call path stopped; restarting it in %.0f s (state comes back from the changelog)",
                              delay)
                await asyncio.sleep(delay)

    if settings.alertmanager_url:
        alerts = AlertmanagerSink(settings.alertmanager_url, settings.dashboard_url, credentials=alert_credentials)
        shell.out.alerts = low.out.alerts = alerts
        http = httpx.AsyncClient()

        @app.timer(1.0)
        async def post_alerts() -> None:
            await alerts.flush(http)

    @app.timer(settings.tick_interval)
    async def send_ticks() -> None:
        if any(tp.topic == topics.TICKETS for tp in app.assignor.assigned_actives()):
            await low_ticks.send(key=b"tick", value=b"", partition=0)

    lagging: set[tuple[str, int]] = set()

    @app.timer(2.0)
    async def report_progress() -> None:  # for the dashboards: consumer lag, open tickets by time left
        await report_consumer_lag(app, metrics, lagging)
        with contextlib.suppress(Exception):  # a metric must never stop the worker
            await asyncio.wait_for(calls.report_lag(), timeout=1.0)
        report_open_tickets(low, terms, metrics)

    def _rebalanced(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        low.forget()

    app.on_partitions_revoked.connect(_rebalanced)
    app.on_partitions_assigned.connect(_rebalanced)

    @app.task
    async def declare_outputs() -> None:
        for t in outputs.values():
            await t.maybe_declare()
    return app


def run_worker(settings: WorkerSettings, contracts: Sequence[Contract],
               alert_credentials: HttpCredentials | None = None) -> None:
    """Run a worker until interrupted (SIGTERM or SIGINT): agents, timers and the metrics endpoint."""
    settings.datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    metrics = Metrics()
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port, settings.metrics_addr)
    app = build_app(settings, contracts, metrics, alert_credentials)
    worker = QuietWorker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


class QuietWorker(faust.Worker):
    """faust.Worker without its terminal spinner, whose handler sets the root logger to DEBUG: every debug call of
    aiokafka, Faust and mode then builds a log record only to drop it (~a third of the produce path's CPU).
    Repeated warnings are rate-limited, and a stop signal ends the process within `STOP_DEADLINE` seconds."""

    _stop_timer: threading.Timer | None = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        limit_repeats(logger)

    def install_signal_handlers(self) -> None:
        """Faust's handlers, with SIGTERM and SIGINT bounded in time (see `_stop_within_deadline`)."""
        super().install_signal_handlers()
        if sys.platform != "win32":
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.loop.add_signal_handler(sig, self._stop_within_deadline, sig)

    def _stop_within_deadline(self, sig: signal.Signals) -> None:
        """Stop gracefully, but exit anyway after `STOP_DEADLINE` s: with the broker gone Faust's stop waits for it
        forever (uncommitted input is re-read on the next start). A second signal exits at once."""
        if self._stop_timer is not None:
            os._exit(128 + sig)
        self._stop_timer = exit_after(STOP_DEADLINE, 128 + sig,
                                      f"worker not stopped {STOP_DEADLINE:g} s after {sig.name} (broker unreachable?)")
        self._schedule_shutdown(sig)


# --- Metrics for the dashboards (streams/dashboards): consumer lag, open tickets, close delay, counters at 0.

DUE_WITHIN = ((3600.0, "1h"), (4 * 3600.0, "4h"), (86400.0, "24h"))
"""`due_within` buckets of `cckpi_tickets_open`: deadline within 1 hour, 1-4 hours, 4-24 hours, else `later`."""


def start_counters(metrics: Metrics, terms: TermIndex) -> None:
    """Window and breach counters start at 0 for every term (and queue), so `increase()` counts the first one."""
    for queue, queue_terms in terms.by_queue.items():
        for t in queue_terms:
            metrics.breaches.labels(t.contract, t.term.id, queue)
    for t in terms.by_key.values():
        for status in get_args(Status):
            metrics.windows_closed.labels(t.contract, t.term.id, status)
    for t in terms.for_source("tickets"):
        metrics.ticket_breaches.labels(t.contract, t.term.id)


async def report_consumer_lag(app: faust.App, metrics: Metrics, reported: set[tuple[str, int]]) -> None:
    """`cckpi_consumer_lag_messages`: highwater minus fetch position of each assigned source partition."""
    assigned = set()
    try:
        consumer = app.consumer
        for tp in app.assignor.assigned_actives():
            if tp.topic not in topics.EVENT_TOPICS:
                continue
            highwater = consumer.highwater(tp)
            position = await asyncio.wait_for(consumer.position(tp), timeout=1.0)
            if highwater is not None and position is not None:
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))
                assigned.add((tp.topic, tp.partition))
    except Exception as exc:  # a metric must never stop the worker (e.g. consumer not started, rebalancing)
        log.debug("consumer lag not measured: %r", exc)
        return
    for topic, partition in reported - assigned:  # revoked: another worker reports it now
        metrics.consumer_lag.remove(topic, str(partition))
    reported.clear()
    reported.update(assigned)


def report_open_tickets(low: LowVolumeShell, terms: TermIndex, metrics: Metrics) -> None:
    """`cckpi_tickets_open`: open clocks per ticket term by time left to the deadline (tickets' event time)."""
    buckets = [name for _, name in DUE_WITHIN] + ["later"]
    counts = {(t.contract, t.term.id, b): 0 for t in terms.for_source("tickets") for b in buckets}
    engine = low.engine
    if engine is not None and "tickets" in engine.states:
        now = engine.states["tickets"].watermark
        for ticket in engine.ticket_book.tickets.values():
            for key, (_, due) in ticket.clocks.items():
                term = terms.by_key[key]
                bucket = next((name for limit, name in DUE_WITHIN if due - now <= limit), "later")
                counts[(term.contract, term.term.id, bucket)] += 1
    for labels, n in counts.items():
        metrics.tickets_open.labels(*labels).set(n)
