"""The Faust application around the one source loop (`streams.app.loop`): lifecycle, timers and the loop as a task.

Windows are closed by the core's event-time watermark, not by Faust's windowed tables (which close by wall clock and
lose close callbacks). Faust runs the worker: signals, logging, start and stop, the loop as an app task (restarted
with backoff), and the timers that flush alerts and report progress; consumption, state and commits are the loop's.
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
from collections.abc import Sequence
from typing import get_args

import faust

from streams.app.loop import SourceLoop
from streams.app.pool import PoolLoop
from streams.app.process import STOP_DEADLINE, Backoff, configure_handlers, exit_after
from streams.app.settings import WorkerSettings
from streams.app.shell import StreamShell
from streams.contracts.model import Contract
from streams.core.batch import Engine
from streams.core.gauges import open_tickets
from streams.core.processor import Processor
from streams.core.terms import TermIndex, compile_terms
from streams.core.verdict import Status
from streams.kafka_io.admin import prepare_worker_topics, wait_for_broker
from streams.kafka_io.connect import quiet_kafka_client
from streams.kafka_io.security import faust_credentials
from streams.sinks.credentials import HttpCredentials
from streams.sinks.health import Readiness
from streams.sinks.metrics import Metrics
from streams.sinks.wiring import build_sinks

log = logging.getLogger(__name__)


def build_app(settings: WorkerSettings, contracts: Sequence[Contract], metrics: Metrics,
              alert_credentials: HttpCredentials | None = None) -> tuple[faust.App, Readiness]:
    """A Faust app that checks the given contracts, and what /readyz reports of it (`readiness_of` its loops); run
    it with `run_worker`. `alert_credentials` authenticate the posts to `settings.alertmanager_url`."""
    terms = compile_terms(contracts)
    metrics.set_terms(terms.by_key.values())
    start_counters(metrics, terms)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=faust_credentials(settings.kafka_security),
        store=settings.store,
        datadir=str(settings.datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
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
    sinks = build_sinks(metrics, terms, alertmanager_url=settings.alertmanager_url,
                        dashboard_url=settings.dashboard_url, alert_credentials=alert_credentials)
    shell = StreamShell(Processor(terms), metrics, settings.idle_after, settings.max_future, sinks=sinks)
    loop = SourceLoop(settings, shell, metrics)
    loops: list[SourceLoop | PoolLoop] = [loop]
    if terms.pooled_keys:
        pool = PoolLoop(settings, terms, shell.out)
        loops.append(pool)

        @app.task
        async def merge_pooled() -> None:
            """Pooled terms' parts merged into pooled windows (`streams.app.pool`), restarted like the source loop."""
            await run_restarting(pool)

    @app.task
    async def process_sources() -> None:
        """Every event family runs through the source loop (see `streams.app.loop`); restarted on errors, ever later
        (up to 10 s) while it keeps failing, e.g. with the broker down."""
        await run_restarting(loop)

    @app.timer(1.0)
    async def flush_sinks() -> None:  # alerts and annotations are posted off the batch path
        await sinks.flush()

    @app.timer(2.0)
    async def report_progress() -> None:  # for the dashboards: consumer lag, open tickets by time left
        with contextlib.suppress(Exception):  # a metric must never stop the worker
            await asyncio.wait_for(loop.report_lag(), timeout=1.0)
        report_open_tickets(loop.tickets(), terms, metrics)

    return app, readiness_of(loops)


def readiness_of(loops: Sequence[SourceLoop | PoolLoop]) -> Readiness:
    """/readyz of a worker: ready once every loop is (the source loop, and the pool loop with pooled terms), with
    each loop's reason."""
    def ready() -> tuple[bool, str]:
        answers = [loop.readiness for loop in loops]
        return all(ok for ok, _ in answers), "; ".join(reason for _, reason in answers)
    return ready


async def run_restarting(loop: SourceLoop | PoolLoop) -> None:
    """Run the loop until the worker stops, restarting it after errors with `Backoff`."""
    backoff = Backoff()
    name = "pool loop" if isinstance(loop, PoolLoop) else "source loop"  # which one the log lines are about
    while True:
        started = time.monotonic()
        try:
            await loop.run()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():  # the worker is stopping
                raise
            # aiokafka lets an internal cancellation escape when the broker vanishes for longer than a session
            delay = backoff.after(time.monotonic() - started)
            log.warning("%s interrupted by the Kafka client; restarting it in %.0f s", name, delay)
            await asyncio.sleep(delay)
        except Exception:
            delay = backoff.after(time.monotonic() - started)
            log.exception("%s stopped; restarting it in %.0f s (state comes back from the changelog)", name, delay)
            await asyncio.sleep(delay)


def run_worker(settings: WorkerSettings, contracts: Sequence[Contract],
               alert_credentials: HttpCredentials | None = None) -> None:
    """Run a worker until interrupted (SIGTERM or SIGINT): agents, timers and the metrics endpoint."""
    settings.datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    with quiet_kafka_client():  # an unreachable broker is one line (streams.cli.errors), not a Faust traceback
        asyncio.run(wait_for_broker(settings.bootstrap(), settings.broker_wait))
        for warning in asyncio.run(prepare_worker_topics(settings.bootstrap(), settings.app_id,
                                                         settings.topic_layout(), settings.broker_wait)):
            log.warning("%s", warning)
    metrics = Metrics()
    app, ready = build_app(settings, contracts, metrics, alert_credentials)
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port, settings.metrics_addr, ready=ready)
    worker = QuietWorker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.log_format = settings.log_format
    worker.execute_from_commandline()


class QuietWorker(faust.Worker):
    """faust.Worker without its terminal spinner, whose handler sets the root logger to DEBUG: every debug call of
    aiokafka, Faust and mode then builds a log record only to drop it (~a third of the produce path's CPU).
    Repeated warnings are rate-limited, and a stop signal ends the process within `STOP_DEADLINE` seconds."""

    _stop_timer: threading.Timer | None = None
    log_format: str = "text"
    """`--log-format` of the worker's log lines (`streams.app.process.configure_handlers`)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        configure_handlers(logger, self.log_format)

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


# --- Metrics for the dashboards (streams/dashboards): open tickets, counters at 0.


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
        for share in t.term.warn_at or ():
            metrics.ticket_warnings.labels(t.contract, t.term.id, f"{share:g}")


def report_open_tickets(engine: Engine | None, terms: TermIndex, metrics: Metrics) -> None:
    """`cckpi_tickets_open`: open clocks per ticket term by time left to the deadline (tickets' event time), from
    the engine of the tickets partition when this worker owns it."""
    ticking = engine is not None and "tickets" in engine.states
    book, now = (engine.ticket_book, engine.states["tickets"].watermark) if ticking and engine else (None, 0.0)
    for labels, n in open_tickets(terms, book, now).items():
        metrics.tickets_open.labels(*labels).set(n)
