"""Outputs: Kafka records, Prometheus metrics (and later Alertmanager, Grafana)."""
