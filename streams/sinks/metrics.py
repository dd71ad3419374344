"""Prometheus metrics of the KPIs and of the pipeline; one registry per worker, no globals.

Names follow Prometheus conventions: `cckpi_` prefix, base units (`_seconds`, `_ratio`), `_total`
counters, and no call or ticket ids as labels (cardinality is contracts x terms x queues).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from streams.core.kpis import KPIS
from streams.core.records import QueueForecast, WindowResult
from streams.core.terms import CompiledTerm
from streams.sinks.health import Readiness, health_app, start_server

TERM_LABELS = ("contract", "term", "scope")


def safe_label(value: str) -> str:
    """A label value as exported: control, zero-width, bidi and other invisible characters (anything Python does
    not print, but the space) written as `\\uXXXX`, so a series reads as what it is named."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)


class SafeRegistry(CollectorRegistry):
    """A registry whose exposition (and `get_sample_value`) carries every label value through `safe_label`."""

    def collect(self) -> Iterator[Metric]:
        """The registered metrics, label values made safe where needed."""
        for metric in super().collect():
            if not all(v.isprintable() for sample in metric.samples for v in sample.labels.values()):
                metric.samples = [sample._replace(labels={k: safe_label(v) for k, v in sample.labels.items()})
                                  for sample in metric.samples]
            yield metric


class BreachedWindows:
    """Windows already counted as breached, so each counts once however often it is revised; a window is forgotten
    once a later window of its term and scope ends past its end plus grace and retention (it can no longer be
    revised then), so memory holds only windows that are still revisable."""

    def __init__(self) -> None:
        self.horizon: dict[tuple[str, str], float] = {}
        """Grace plus retention (seconds) of each (contract, term); unknown terms are never forgotten."""
        self.known: dict[tuple[str, str, str], dict[str, float]] = {}
        """Per (contract, term, scope): breached window keys and the window end after which they are forgotten."""

    def first(self, result: WindowResult) -> bool:
        """True the first time a result of this window is breached."""
        end = datetime.fromisoformat(result.window_end).timestamp()
        known = self.known.setdefault((result.contract, result.term, result.scope), {})
        for key in [k for k, forget_at in known.items() if forget_at <= end]:
            del known[key]
        if result.status != "breached" or result.key in known:
            return False
        known[result.key] = end + self.horizon.get((result.contract, result.term), math.inf)
        return True


class Metrics:
    """All cckpi metrics, registered on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or SafeRegistry()
        r = self.registry
        self.kpi = {
            k.name: Gauge(f"cckpi_{k.name}_{k.unit}", f"{k.title} of the current (open) or last closed window",
                          [*TERM_LABELS, "window"], registry=r)
            for k in KPIS.values()
        }
        self.threshold = {
            k.name: Gauge(f"cckpi_{k.name}_threshold_{k.unit}", f"{k.title}: the contract's breach level",
                          ["contract", "term"], registry=r)
            for k in KPIS.values()
        }
        self.warning = {
            k.name: Gauge(f"cckpi_{k.name}_warning_{k.unit}", f"{k.title}: the contract's warning level",
                          ["contract", "term"], registry=r)
            for k in KPIS.values()
        }
        self.breached = Gauge("cckpi_term_breached", "1 when the last closed window of the term breached",
                              TERM_LABELS, registry=r)
        self.breach_updates = Counter("cckpi_breach_updates_total",
                                      "Breach lifecycle events: warning, breached, recovered, final",
                                      ["contract", "term", "state"], registry=r)
        self.penalties = Gauge("cckpi_penalties_priced", "Penalty money of the windows this worker judged since it "
                               "started, priced before caps and cures (the latest revision of each window decides; "
                               "priced by streams.core.penalties): what is booked is `cckpi_penalties_booked` of "
                               "`cckpi ledger-exporter`", ["contract", "term", "currency"], registry=r)
        self.breached_windows = BreachedWindows()
        """Windows already counted in `cckpi_breaches_total`."""
        self.ticket_breaches = Counter("cckpi_ticket_breaches_total", "Tickets that missed a term's time limit",
                                       ["contract", "term"], registry=r)
        self.ticket_warnings = Counter("cckpi_ticket_warnings_total", "Open tickets that passed a declared share of "
                                       "a term's allowed time (warn_at), each share once", ["contract", "term",
                                                                                            "share"], registry=r)
        self.breaches = Counter("cckpi_breaches_total", "Breached windows, each once (when it first closes or is "
                                "revised as breached; later revisions count in cckpi_window_revisions_total)",
                                TERM_LABELS, registry=r)
        self.windows_closed = Counter("cckpi_windows_closed_total", "Windows closed, each once, by its status when "
                                      "it first closed (revisions count in cckpi_window_revisions_total)",
                                      ["contract", "term", "status"], registry=r)
        self.revisions = Counter("cckpi_window_revisions_total", "Revisions of closed windows: window records with "
                                 "revision >= 1 (a late event changed an already published window)",
                                 ["contract", "term"], registry=r)
        self.events = Counter("cckpi_events_total", "Valid events processed", ["type"], registry=r)
        self.late = Counter("cckpi_events_late_total",
                            "Contributions that arrived after their window closed (revision or dropped)",
                            ["contract", "term", "outcome"], registry=r)
        self.duplicates = Counter("cckpi_events_duplicate_total", "Events whose id was already counted (ignored)",
                                  registry=r)
        self.conflicting_duplicates = Counter("cckpi_events_conflicting_duplicate_total", "Events whose id was "
                                              "already counted with other content (dead-lettered)", registry=r)
        self.unscoped = Counter("cckpi_events_unscoped_total", "Valid events outside every contract's scope (a queue "
                                "or service no contract names): no state, no series of their own", ["family"],
                                registry=r)
        self.dead_letters = Counter("cckpi_dead_letters_total", "Messages sent to the dead-letter topic",
                                    ["reason"], registry=r)
        self.watermark = Gauge("cckpi_watermark_timestamp_seconds", "Event-time watermark of a scope",
                               ["scope"], registry=r)
        self.batch_seconds = Histogram("cckpi_batch_duration_seconds",
                                       "Time from consuming a batch to its outputs and state acknowledged", registry=r,
                                       buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5))
        # For the dashboards (streams/dashboards): updated by StreamShell and the worker's timers.
        self.calls_waiting = Gauge("cckpi_calls_waiting", "Calls offered and not yet answered or abandoned, per "
                                   "queue (by the events seen; never below 0)", ["scope"], registry=r)
        self.close_delay = Histogram("cckpi_window_close_delay_seconds",
                                     "Seconds from consuming a batch (or tick) to emitting the windows it closed",
                                     registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.consumer_lag = Gauge("cckpi_consumer_lag_messages", "Messages in an assigned source partition not "
                                  "fetched yet (highwater minus position)", ["topic", "partition"], registry=r)
        self.tickets_open = Gauge("cckpi_tickets_open", "Open ticket clocks by time left to the deadline in event "
                                  "time (due_within: 1h, 4h, 24h, later)", ["contract", "term", "due_within"],
                                  registry=r)

        # Forecasts (streams.core.forecast): the queue model every minute of event time, per queue and per term.
        queue = ["scope"]
        self.fc_staffed = Gauge("cckpi_forecast_agents_staffed", "Agents ready to take calls (agent state events)",
                                queue, registry=r)
        self.fc_arrivals = Gauge("cckpi_forecast_arrivals_per_second", "Smoothed arrival rate (last ~15 minutes)",
                                 queue, registry=r)
        self.fc_handle = Gauge("cckpi_forecast_handle_seconds", "Smoothed mean handle time (talk + hold + wrap)",
                               queue, registry=r)
        self.fc_wait = Gauge("cckpi_forecast_wait_probability_ratio", "Predicted share of calls that wait",
                             queue, registry=r)
        self.fc_asa = Gauge("cckpi_forecast_asa_seconds", "Predicted average speed of answer, next interval",
                            queue, registry=r)
        self.fc_abandon = Gauge("cckpi_forecast_abandon_ratio", "Predicted abandon rate, next interval (Erlang A; "
                                "0 under Erlang C)", queue, registry=r)
        self.fc_service_level = Gauge("cckpi_forecast_service_level_ratio", "Predicted service level of the next "
                                      "interval at the current staffing", TERM_LABELS, registry=r)
        self.fc_projected = Gauge("cckpi_forecast_projected_ratio", "Ratio terms: the window's value at its end if "
                                  "the rest goes as predicted", TERM_LABELS, registry=r)
        self.fc_projected_seconds = Gauge("cckpi_forecast_projected_seconds", "Time terms: the window's value at "
                                          "its end if the rest goes as predicted", TERM_LABELS, registry=r)
        self.fc_agents_needed = Gauge("cckpi_forecast_agents_needed", "Fewest agents that meet the term in the "
                                      "next interval", TERM_LABELS, registry=r)
        self.fc_budget = Gauge("cckpi_forecast_budget_contacts", "Ratio terms: bad contacts the window can still "
                               "absorb before its target is out of reach (negative: out of reach)", TERM_LABELS,
                               registry=r)
        self.fc_needed = Gauge("cckpi_forecast_needed_average", "Average terms: the mean (in the term's unit) the "
                               "rest of the window needs", TERM_LABELS, registry=r)
        self.fc_at_risk = Gauge("cckpi_forecast_at_risk", "1 while a forecast warning is raised for the term",
                                TERM_LABELS, registry=r)

    def on_forecast(self, forecast: QueueForecast) -> None:
        """Publish one queue forecast (the emitter calls this for every QueueForecast the core returns)."""
        scope = forecast.scope
        self.fc_staffed.labels(scope).set(forecast.agents)
        self.fc_arrivals.labels(scope).set(forecast.calls_per_hour / 3600)
        self.fc_handle.labels(scope).set(forecast.aht_seconds)
        self.fc_wait.labels(scope).set(forecast.p_wait)
        self.fc_asa.labels(scope).set(forecast.asa_seconds)
        self.fc_abandon.labels(scope).set(forecast.abandon_rate)
        for t in forecast.terms:
            labels = (t.contract, t.term, scope)
            if t.kpi == "service_level" and t.predicted is not None:
                self.fc_service_level.labels(*labels).set(t.predicted)
            if t.projected is not None:
                (self.fc_projected if t.unit == "ratio" else self.fc_projected_seconds).labels(*labels).set(
                    t.projected)
            if t.agents_needed is not None:
                self.fc_agents_needed.labels(*labels).set(t.agents_needed)
            if t.budget_contacts is not None:
                self.fc_budget.labels(*labels).set(t.budget_contacts)
            if t.needed_value is not None:
                self.fc_needed.labels(*labels).set(t.needed_value)
            self.fc_at_risk.labels(*labels).set(1 if t.at_risk else 0)

    def set_terms(self, terms: Iterable[CompiledTerm]) -> None:
        """Publish every term's levels so dashboards can draw the contract line."""
        for t in terms:
            self.breached_windows.horizon[(t.contract, t.term.id)] = t.grace + t.retention
            self.threshold[t.term.kpi].labels(t.contract, t.term.id).set(t.term.threshold)
            if t.term.warning is not None:
                self.warning[t.term.kpi].labels(t.contract, t.term.id).set(t.term.warning)

    def on_result(self, result: WindowResult) -> None:
        """Account for one emitted window result."""
        labels = (result.contract, result.term, result.scope)
        if result.value is not None:
            self.kpi[result.kpi].labels(*labels, "last_closed").set(result.value)
        if result.revision == 0:  # the window's first record: later ones are revisions of it
            self.windows_closed.labels(result.contract, result.term, result.status).inc()
        self.breached.labels(*labels).set(1 if result.status == "breached" else 0)
        if self.breached_windows.first(result):
            self.breaches.labels(*labels).inc()
        if result.revision > 0:
            self.revisions.labels(result.contract, result.term).inc()

    def set_current(self, kpi: str, contract: str, term: str, scope: str, value: float) -> None:
        """The period-to-date value of the open window."""
        self.kpi[kpi].labels(contract, term, scope, "current").set(value)

    def serve(self, port: int, addr: str = "127.0.0.1", ready: Readiness | None = None) -> WSGIServer:
        """Expose /metrics, /healthz (alive) and /readyz (`ready()` says so; 503 with its reason else) over HTTP
        in a background thread; returns the server (`shutdown()` stops it)."""
        return start_server(port, addr, health_app(self.registry, ready))
