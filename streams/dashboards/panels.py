"""Plain-JSON builders of the Grafana dashboard model (schemaVersion 39): targets, panels, thresholds,
template variables, and a grid that places and numbers panels.

Every panel, target and query variable names the Prometheus datasource through the dashboard's `datasource`
variable (type datasource, default: the organisation's default Prometheus), so a dashboard imported into any
Grafana finds its Prometheus, whatever its uid. Annotation queries show the breach annotations
`cckpi grafana annotate` writes (Grafana's built-in annotations, by tag).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

Json = dict[str, Any]

DATASOURCE_VARIABLE = "datasource"
DATASOURCE: Json = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
GRAFANA_DATASOURCE: Json = {"type": "grafana", "uid": "-- Grafana --"}
"""Grafana's built-in datasource: the annotations stored in Grafana itself."""
SCHEMA_VERSION = 39
GRID_COLUMNS = 24
UNITS = {"ratio": "percentunit", "seconds": "s", "points": "none", "score": "none"}
"""Grafana unit of each KPI unit of the catalog."""

GREEN, ORANGE, RED, BLUE, GREY = "green", "orange", "red", "blue", "text"
THRESHOLD_PREFIX = "阈值 Threshold"
WARNING_PREFIX = "预警 Warning"
"""Legend prefixes of the contract-level series; overrides draw them as dashed lines."""


def target(expr: str, legend: str = "__auto", ref: str = "A", instant: bool = False) -> Json:
    """One PromQL query of a panel."""
    return {"refId": ref, "datasource": DATASOURCE, "editorMode": "code", "expr": expr, "legendFormat": legend,
            "range": not instant, "instant": instant}


def steps(*pairs: tuple[str, float | None]) -> Json:
    """Absolute thresholds: (colour, from value); the first step's value is None (minus infinity)."""
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in pairs]}


def level_steps(threshold: float, warning: float | None, higher_is_better: bool) -> Json:
    """Breach colouring of a contract term: red beyond the threshold, orange between warning and threshold."""
    if higher_is_better:
        if warning is None:
            return steps((RED, None), (GREEN, threshold))
        return steps((RED, None), (ORANGE, threshold), (GREEN, warning))
    if warning is None:
        return steps((GREEN, None), (RED, threshold))
    return steps((GREEN, None), (ORANGE, warning), (RED, threshold))


def override(pattern: str, **properties: Any) -> Json:
    """Field override for series whose display name matches the regular expression; property ids use `__` for
    `.` (`custom__lineWidth` -> `custom.lineWidth`)."""
    return {"matcher": {"id": "byRegexp", "options": pattern},
            "properties": [{"id": key.replace("__", "."), "value": value} for key, value in properties.items()]}


def contract_line_overrides() -> list[Json]:
    """Threshold series as red dashed lines, warning series as orange dashed lines, never filled."""
    dashed = {"fill": "dash", "dash": [10, 6]}
    return [
        override(f"^{re.escape(THRESHOLD_PREFIX)}.*", color={"mode": "fixed", "fixedColor": RED},
                 custom__lineStyle=dashed, custom__lineWidth=2, custom__fillOpacity=0),
        override(f"^{re.escape(WARNING_PREFIX)}.*", color={"mode": "fixed", "fixedColor": ORANGE},
                 custom__lineStyle=dashed, custom__lineWidth=1, custom__fillOpacity=0),
    ]


def _field_defaults(unit: str, thresholds: Json | None, minimum: float | None, maximum: float | None,
                    decimals: int | None) -> Json:
    defaults: Json = {"unit": unit, "thresholds": thresholds or steps((GREEN, None)), "mappings": []}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if decimals is not None:
        defaults["decimals"] = decimals
    return defaults


def _panel(kind: str, title: str, targets: Sequence[Json], description: str, defaults: Json,
           overrides: Iterable[Json], options: Json) -> Json:
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "targets": list(targets), "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
            "options": options}


def _legend(placement: str = "bottom") -> Json:
    return {"showLegend": True, "displayMode": "list", "placement": placement, "calcs": []}


def _reduce() -> Json:
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}


def timeseries(title: str, targets: Sequence[Json], *, unit: str, description: str = "",
               thresholds: Json | None = None, overrides: Iterable[Json] = (), minimum: float | None = None,
               maximum: float | None = None, decimals: int | None = None, threshold_area: bool = False,
               stacked: bool = False, bars: bool = False) -> Json:
    """Lines over time; `threshold_area` shades the panel thresholds (breach zone red, warning zone orange)."""
    defaults = _field_defaults(unit, thresholds, minimum, maximum, decimals)
    defaults["color"] = {"mode": "palette-classic"}
    defaults["custom"] = {
        "drawStyle": "bars" if bars else "line", "lineInterpolation": "stepAfter", "lineWidth": 2,
        "fillOpacity": 60 if bars or stacked else 8, "gradientMode": "none", "showPoints": "never",
        "spanNulls": True, "axisPlacement": "auto",
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
        "thresholdsStyle": {"mode": "area" if threshold_area else "off"},
    }
    options = {"legend": _legend(), "tooltip": {"mode": "multi", "sort": "desc"}}
    return _panel("timeseries", title, targets, description, defaults, overrides, options)


def stat(title: str, targets: Sequence[Json], *, unit: str, description: str = "", thresholds: Json | None = None,
         overrides: Iterable[Json] = (), decimals: int | None = None, color_mode: str = "background") -> Json:
    """Big numbers, one per series, coloured by their thresholds (breach colouring)."""
    defaults = _field_defaults(unit, thresholds, None, None, decimals)
    defaults["color"] = {"mode": "thresholds"}
    options = {**_reduce(), "colorMode": color_mode, "graphMode": "area", "justifyMode": "auto",
               "orientation": "auto", "textMode": "value_and_name", "wideLayout": True, "showPercentChange": False}
    return _panel("stat", title, targets, description, defaults, overrides, options)


def bargauge(title: str, targets: Sequence[Json], *, unit: str, description: str = "",
             thresholds: Json | None = None, overrides: Iterable[Json] = (), minimum: float | None = None,
             maximum: float | None = None, decimals: int | None = None) -> Json:
    """Horizontal bars, one per series, coloured by their thresholds."""
    defaults = _field_defaults(unit, thresholds, minimum, maximum, decimals)
    defaults["color"] = {"mode": "thresholds"}
    options = {**_reduce(), "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True,
               "valueMode": "color", "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16,
               "minVizWidth": 8, "maxVizHeight": 300}
    return _panel("bargauge", title, targets, description, defaults, overrides, options)


def state_timeline(title: str, targets: Sequence[Json], *, states: dict[int, tuple[str, str]],
                   description: str = "") -> Json:
    """Discrete states over time: value -> (text, colour), e.g. 0 met (green), 1 breached (red)."""
    mapping = {str(v): {"text": text, "color": color, "index": i} for i, (v, (text, color)) in
               enumerate(sorted(states.items()))}
    defaults = _field_defaults("none", steps((GREEN, None)), None, None, None)
    defaults["mappings"] = [{"type": "value", "options": mapping}]
    defaults["color"] = {"mode": "fixed", "fixedColor": GREY}
    defaults["custom"] = {"fillOpacity": 80, "lineWidth": 0}
    options = {"mergeValues": True, "showValue": "auto", "alignValue": "center", "rowHeight": 0.85,
               "legend": _legend(), "tooltip": {"mode": "single", "sort": "none"}}
    return _panel("state-timeline", title, targets, description, defaults, (), options)


def query_variable(name: str, label: str, query: str, *, multi: bool = False, all_value: str | None = None,
                   current: str | None = None) -> Json:
    """A template variable filled from Prometheus (`label_values(selector, label)`); `all_value` adds "All"."""
    include_all = all_value is not None
    shown = "All" if include_all and current is None else (current or "")
    value = "$__all" if include_all and current is None else (current or "")
    variable: Json = {
        "name": name, "label": label, "type": "query", "datasource": DATASOURCE, "definition": query,
        "query": query, "refresh": 2, "regex": "", "sort": 1, "hide": 0, "multi": multi,
        "includeAll": include_all, "options": [],
        "current": {"selected": True, "text": [shown] if multi else shown, "value": [value] if multi else value},
    }
    if include_all:
        variable["allValue"] = all_value
    return variable


def datasource_variable() -> Json:
    """The Prometheus datasource the panels ask, chosen per dashboard view; `default` is the organisation's
    default datasource of the type (the provisioned one in the compose stack)."""
    return {"name": DATASOURCE_VARIABLE, "label": "数据源 Datasource", "type": "datasource", "query": "prometheus",
            "refresh": 1, "regex": "", "hide": 0, "multi": False, "includeAll": False, "options": [],
            "current": {"selected": True, "text": "default", "value": "default"}}


def tag_annotation(name: str, tags: Sequence[str], color: str) -> Json:
    """Annotations stored in Grafana carrying every one of `tags` (template variables allowed, e.g. `$contract`),
    shown on every time panel of the dashboard."""
    return {"name": name, "datasource": GRAFANA_DATASOURCE, "enable": True, "hide": False, "iconColor": color,
            "target": {"type": "tags", "tags": list(tags), "matchAny": False, "limit": 500}}


_BUILT_IN_ANNOTATION: Json = {
    "builtIn": 1, "datasource": GRAFANA_DATASOURCE, "enable": True, "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}


class Grid:
    """Places panels left to right in rows of 24 columns, and numbers them 1, 2, ..."""

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self.y = 0

    def row(self, panels: Sequence[Json], height: int, widths: Sequence[int] | None = None) -> None:
        """One row of panels; widths default to equal shares of the 24 columns."""
        if not panels:
            return
        if widths is None:
            base, extra = divmod(GRID_COLUMNS, len(panels))
            widths = [base + (1 if i < extra else 0) for i in range(len(panels))]
        x = 0
        for panel, width in zip(panels, widths, strict=True):
            panel["id"] = len(self.panels) + 1
            panel["gridPos"] = {"h": height, "w": width, "x": x, "y": self.y}
            self.panels.append(panel)
            x += width
        self.y += height

    def rows(self, panels: Sequence[Json], per_row: int, height: int) -> None:
        """Panels in rows of `per_row`, each row sharing the width equally."""
        for start in range(0, len(panels), per_row):
            self.row(panels[start:start + per_row], height)


def dashboard(uid: str, title: str, description: str, panels: list[Json], variables: list[Json], *,
              tags: Sequence[str], refresh: str = "10s", time_from: str = "now-6h",
              annotations: Sequence[Json] = ()) -> Json:
    """The dashboard model, ready for file provisioning or POST /api/dashboards/db: the `datasource` variable
    first, then `variables`; Grafana's own annotations, then `annotations`."""
    return {
        "id": None, "uid": uid, "title": title, "description": description, "tags": list(tags),
        "timezone": "browser", "editable": True, "graphTooltip": 1, "fiscalYearStartMonth": 0, "liveNow": False,
        "weekStart": "", "schemaVersion": SCHEMA_VERSION, "version": 1, "refresh": refresh,
        "time": {"from": time_from, "to": "now"}, "timepicker": {},
        "annotations": {"list": [dict(_BUILT_IN_ANNOTATION), *annotations]},
        "links": [{"type": "dashboards", "title": "cckpi", "tags": ["cckpi"], "asDropdown": False,
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": panels,
    }
