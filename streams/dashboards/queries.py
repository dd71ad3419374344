"""Panel queries of a dashboard as Grafana sends them (template variables substituted), and a small client of
the Prometheus HTTP API to run them: used by `cckpi dashboards preview` and by the tests."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from streams.dashboards.panels import Json

GRAFANA_RANGES = {"__range": "1h", "__rate_interval": "1m", "__interval": "15s"}
"""Values for Grafana's built-in interval variables when queries run outside Grafana."""
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(.*),\s*)?(\w+)\)$", re.S)


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel, ready for Prometheus."""

    panel_id: int
    title: str
    panel_type: str
    ref: str
    legend: str
    expr: str


def variable_value(value: str | Sequence[str]) -> str:
    """How Grafana writes a variable into a regex matcher: one value as is, several as `(a|b)`."""
    if isinstance(value, str):
        return value
    return value[0] if len(value) == 1 else "(" + "|".join(value) + ")"


def substitute(expr: str, variables: Mapping[str, str | Sequence[str]],
               ranges: Mapping[str, str] = GRAFANA_RANGES) -> str:
    """The expression with `$name` / `${name}` replaced; raises KeyError naming a variable without a value."""
    values = {**ranges, **{k: variable_value(v) for k, v in variables.items()}}

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(one, expr)


def panels(board: Json) -> Iterator[Json]:
    """Every panel of a dashboard, including panels nested in collapsed rows."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(board: Json, variables: Mapping[str, str | Sequence[str]],
                  ranges: Mapping[str, str] = GRAFANA_RANGES) -> list[PanelQuery]:
    """Every target of every panel, substituted."""
    return [PanelQuery(p["id"], p["title"], p["type"], t["refId"], t.get("legendFormat", ""),
                       substitute(t["expr"], variables, ranges))
            for p in panels(board) for t in p.get("targets", [])]


def template_variables(board: Json) -> dict[str, Json]:
    """The dashboard's query variables (filled from Prometheus, used in the queries) by name; the `datasource`
    variable picks the Prometheus and appears in no query."""
    return {v["name"]: v for v in board.get("templating", {}).get("list", []) if v.get("type", "query") == "query"}


def label_values_query(query: str) -> tuple[str | None, str]:
    """(series selector or None, label) of a `label_values(selector, label)` variable query."""
    match = _LABEL_VALUES.match(query.strip())
    if not match:
        raise ValueError(f"not a label_values(...) query: {query!r}")
    return match.group(1), match.group(2)


def legend_name(legend: str, labels: Mapping[str, str]) -> str:
    """A series' display name from the target's legend format, as Grafana makes it."""
    if not legend or legend == "__auto":
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
        return f"{labels.get('__name__', '')}{{{inner}}}"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend)


@dataclass(frozen=True)
class Series:
    """One result series: labels and (unix time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]

    def finite(self) -> list[tuple[float, float]]:
        """Points whose value is a number (not NaN or infinite)."""
        return [(t, v) for t, v in self.points if math.isfinite(v)]


class PrometheusApi:
    """The parts of Prometheus' HTTP API the dashboards need."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()

    def __enter__(self) -> PrometheusApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]]) -> Any:
        response = self.client.get(f"{self.url}{path}", params=params)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: HTTP {response.status_code} {body.get('error', response.text)}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Series]:
        """Instant query."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Series({}, [(float(data["result"][0]), float(data["result"][1]))])]
        return [Series(r["metric"], [(float(r["value"][0]), float(r["value"][1]))]) for r in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Range query."""
        data = self._get("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})
        return [Series(r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]

    def label_values(self, selector: str | None, label: str) -> list[str]:
        """Values of a label, over the series a selector matches (all series without one)."""
        params = [("match[]", selector)] if selector else []
        return sorted(self._get(f"/api/v1/label/{label}/values", params))


class PrometheusError(RuntimeError):
    """Prometheus refused a query or is not there."""
