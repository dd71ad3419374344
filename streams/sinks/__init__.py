"""Outputs: Kafka record encoding and Prometheus metrics (later Alertmanager, Grafana)."""

from streams.sinks.metrics import Metrics
from streams.sinks.records import breach_message, dead_letter_message, late_message, window_message

__all__ = ["Metrics", "breach_message", "dead_letter_message", "late_message", "window_message"]
