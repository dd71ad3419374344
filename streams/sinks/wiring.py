"""Where a worker's sinks are wired: the one place that lists them. Adding a sink is a module with a class that
follows `streams.sinks.base.Sink` and one line here."""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.terms import TermIndex
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.base import Sink, Sinks
from streams.sinks.credentials import HttpCredentials
from streams.sinks.grafana import GrafanaSink, connect
from streams.sinks.metrics import Metrics
from streams.sinks.metrics_sink import MetricsSink
from streams.sinks.records import RecordsSink


def build_sinks(metrics: Metrics, terms: TermIndex, *, alertmanager_url: str | None = None,
                dashboard_url: str | None = None, alert_credentials: HttpCredentials | None = None,
                grafana_url: str | None = None, grafana_credentials: HttpCredentials | None = None,
                grafana_dashboard_uid: str | None = None, extra: Iterable[Sink] = ()) -> Sinks:
    """The sinks of one worker, shared by its runtimes: output records and metrics always; on-call alerts with an
    Alertmanager URL (`dashboard_url` linked from them); breach annotations with a Grafana URL; then `extra`."""
    sinks: list[Sink] = [RecordsSink(), MetricsSink(metrics, terms.by_key.values())]
    if alertmanager_url:
        sinks.append(AlertmanagerSink(alertmanager_url, dashboard_url, credentials=alert_credentials))
    if grafana_url:
        sinks.append(GrafanaSink(connect(grafana_url, grafana_credentials), grafana_dashboard_uid, url=grafana_url,
                                 secrets=grafana_credentials.secrets() if grafana_credentials else ()))
    return Sinks([*sinks, *extra])
