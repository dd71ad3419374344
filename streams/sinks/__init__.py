"""Outputs behind one interface (`base.Sink`, wired in `wiring.build_sinks`): Kafka records, Prometheus metrics,
Alertmanager alerts, Grafana annotations."""

from streams.sinks.metrics import Metrics
from streams.sinks.records import breach_message, dead_letter_message, late_message, window_message

__all__ = ["Metrics", "breach_message", "dead_letter_message", "late_message", "window_message"]
