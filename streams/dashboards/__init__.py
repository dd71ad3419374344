"""Grafana dashboards generated from the contracts (`cckpi dashboards build`), uploaded with grafana-client
(`cckpi dashboards publish`) and previewed as PNG from a Prometheus query API (`cckpi dashboards preview`)."""

from streams.dashboards.build import FILES, build_dashboards, outdated, render, write_dashboards

__all__ = ["FILES", "build_dashboards", "outdated", "render", "write_dashboards"]
