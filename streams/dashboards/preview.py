"""A PNG preview of a dashboard, drawn with matplotlib from a Prometheus query API in Grafana's dark theme.

Follows the dashboard model itself: the grid positions, panel types (stat, time series, state timeline, bar
gauge), legends, units, thresholds with per-series overrides (breach colouring), the dashed threshold and warning
lines, and the shaded threshold areas. Without a CJK font on the machine the Chinese half of each title is left
out rather than drawn as boxes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from streams.dashboards.panels import GRID_COLUMNS, Json
from streams.dashboards.queries import PrometheusApi, Series, legend_name, panel_queries, panels

BACKGROUND, PANEL, BORDER, TEXT, MUTED, GRIDLINE = "#111217", "#181b1f", "#2c3235", "#d8d9da", "#8e8e8e", "#25282d"
NAMED = {"green": "#73BF69", "orange": "#FF9830", "red": "#F2495C", "blue": "#5794F2", "yellow": "#FADE2A",
         "purple": "#B877D9", "text": "#6e7079", "transparent": PANEL}
PALETTE = ("#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D",
           "#FADE2A")
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN", "SimHei",
             "Microsoft YaHei", "PingFang SC")
_CJK_FILE = re.compile(r"wqy|NotoSansCJK|NotoSerifCJK|SourceHanSans|DroidSansFallback|uming|ukai", re.I)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+\s*")
WIDTH_IN, UNIT_IN, HEADER_IN, GAP_IN, TITLE_IN, DPI = 16.0, 0.34, 0.75, 0.05, 0.30, 110


def cjk_font() -> str | None:
    """The first installed font that has Chinese glyphs, if any (also one installed after matplotlib cached its
    font list)."""
    def known() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    if (name := known()) is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(Path(path).name):
                font_manager.fontManager.addfont(path)
        name = known()
    return name


@dataclass
class Shown:
    """One series as a panel shows it."""

    name: str
    series: Series
    config: dict[str, Any]


class Renderer:
    """Draws one dashboard's panels with their data onto a matplotlib figure."""

    def __init__(self, board: Json, data: Mapping[int, list[tuple[str, Series]]], start: float, end: float,
                 subtitle: str) -> None:
        self.board, self.data, self.start, self.end, self.subtitle = board, data, start, end, subtitle
        self.font = cjk_font()
        units = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(board)), default=1)
        self.height = HEADER_IN + units * UNIT_IN + GAP_IN
        family = [self.font, "DejaVu Sans"] if self.font else ["DejaVu Sans"]
        self.fig = Figure(figsize=(WIDTH_IN, self.height), dpi=DPI, facecolor=BACKGROUND)
        self.rc = {"family": family}

    def text(self, s: str) -> str:
        """The text as the available fonts can draw it."""
        return s if self.font else _CJK.sub("", s).strip()

    def _rect(self, left_in: float, top_in: float, width_in: float, height_in: float
              ) -> tuple[float, float, float, float]:
        """Figure fractions of a box given in inches from the top left."""
        return (left_in / WIDTH_IN, 1 - (top_in + height_in) / self.height, width_in / WIDTH_IN,
                height_in / self.height)

    def render(self, out: Path) -> Path:
        """Draw the header and every panel; write the PNG."""
        title = self.text(self.board.get("title", ""))
        self.fig.text(0.3 / WIDTH_IN, 1 - 0.34 / self.height, title, color=TEXT, fontsize=17, fontweight="bold",
                      va="center", fontfamily=self.rc["family"])
        self.fig.text(1 - 0.3 / WIDTH_IN, 1 - 0.34 / self.height, self.text(self.subtitle), color=MUTED,
                      fontsize=9.5, va="center", ha="right", fontfamily=self.rc["family"])
        for panel in panels(self.board):
            if panel.get("type") != "row":
                self.panel(panel)
        out.parent.mkdir(parents=True, exist_ok=True)
        FigureCanvasAgg(self.fig).print_png(str(out))
        return out

    def panel(self, panel: Json) -> None:
        """Frame, title and content of one panel."""
        pos = panel["gridPos"]
        col = WIDTH_IN / GRID_COLUMNS
        left, top = pos["x"] * col + GAP_IN, HEADER_IN + pos["y"] * UNIT_IN + GAP_IN
        width, height = pos["w"] * col - 2 * GAP_IN, pos["h"] * UNIT_IN - 2 * GAP_IN
        frame = self.fig.add_axes(self._rect(left, top, width, height))
        frame.set_axis_off()
        frame.add_patch(FancyBboxPatch((0, 0), 1, 1, boxstyle="round,pad=0,rounding_size=0.012",
                                       transform=frame.transAxes, facecolor=PANEL, edgecolor=BORDER, lw=0.8))
        frame.text(0.012 * 16 / width, 1 - 0.17 / height, self.text(panel.get("title", "")), color=TEXT,
                   fontsize=9.5, fontweight="bold", va="center", transform=frame.transAxes,
                   fontfamily=self.rc["family"])
        shown = [Shown(name, series, field_config(panel, name)) for name, series in self.data.get(panel["id"], [])]
        shown = [s for s in shown if s.series.finite()]
        inner = (left + 0.1, top + TITLE_IN, width - 0.2, height - TITLE_IN - 0.08)
        if not shown:
            frame.text(0.5, 0.45, "No data", color=MUTED, fontsize=10, ha="center", transform=frame.transAxes)
            return
        draw = {"stat": self.stat, "timeseries": self.timeseries, "state-timeline": self.state_timeline,
                "bargauge": self.bargauge}.get(panel["type"])
        if draw is not None:
            draw(panel, shown, inner)

    # ------------------------------------------------------------------ panel types

    def stat(self, panel: Json, shown: list[Shown], box: tuple[float, float, float, float]) -> None:
        """Tiles: last value, name and a sparkline on the colour of the value's threshold step."""
        left, top, width, height = box
        n = len(shown)
        cols = n if n <= 3 or width / n > 1.6 else math.ceil(n / 2)
        rows = math.ceil(n / cols)
        tile_w, tile_h = width / cols, height / rows
        for i, item in enumerate(shown):
            r, c = divmod(i, cols)
            ax = self.fig.add_axes(self._rect(left + c * tile_w + 0.03, top + r * tile_h + 0.03, tile_w - 0.06,
                                              tile_h - 0.06))
            points = item.series.finite()
            value = points[-1][1]
            mode = panel["options"].get("colorMode", "background")
            color = color_of(step_color(item.config.get("thresholds"), value))
            face = color if mode == "background" else PANEL
            ax.set_facecolor(face)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            xs, ys = [t for t, _ in points], [v for _, v in points]
            lo, hi = min(ys), max(ys)
            span = (hi - lo) or 1.0
            ax.fill_between(xs, [(y - lo) / span * 0.3 for y in ys], 0, color="white", alpha=0.14, lw=0)
            ax.plot(xs, [(y - lo) / span * 0.3 for y in ys], color="white", alpha=0.4, lw=1)
            ax.set_xlim(self.start, self.end)
            ax.set_ylim(0, 1)
            text_color = "white" if mode == "background" else color
            name = self.text(item.name)
            if len(name) * 0.062 > tile_w - 0.15:  # too wide for one line: queue and term on two
                name = name.replace(" · ", "\n")
            ax.text(0.5, 0.8, name, color=text_color, fontsize=7.5, ha="center", va="center", linespacing=1.1,
                    transform=ax.transAxes, fontfamily=self.rc["family"], alpha=0.95)
            ax.text(0.5, 0.4, fmt(value, item.config), color=text_color, fontsize=min(22, 8 + tile_h * 10),
                    fontweight="bold", ha="center", va="center", transform=ax.transAxes)

    def _time_axes(self, box: tuple[float, float, float, float], legend_rows: int) -> Axes:
        left, top, width, height = box
        legend_in = 0.2 * legend_rows
        ax = self.fig.add_axes(self._rect(left + 0.45, top, width - 0.5, height - 0.22 - legend_in))
        ax.set_facecolor(PANEL)
        for name, spine in ax.spines.items():
            spine.set_visible(name == "bottom")
            spine.set_color(BORDER)
        ax.tick_params(colors=MUTED, labelsize=7, length=0)
        ax.grid(True, color=GRIDLINE, lw=0.6)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S" if self.end - self.start < 3 * 3600 else "%m-%d %H:%M"))
        ax.set_xlim(_dt(self.start), _dt(self.end))
        return ax

    def _legend(self, ax: Axes, handles: list[Any], labels: list[str], width: float) -> int:
        per_row = max(1, int(width / 2.3))
        if handles:
            ax.legend(handles, [self.text(label) for label in labels], loc="upper left",
                      bbox_to_anchor=(-0.04, -0.09), ncol=per_row, frameon=False, fontsize=7, labelcolor=TEXT,
                      handlelength=1.6, columnspacing=1.2, prop={"family": self.rc["family"], "size": 7})
        return math.ceil(len(handles) / per_row)

    def timeseries(self, panel: Json, shown: list[Shown], box: tuple[float, float, float, float]) -> None:
        """Lines (dashed for contract levels) over the shaded threshold areas."""
        per_row = max(1, int(box[2] / 2.3))
        ax = self._time_axes(box, math.ceil(len(shown) / per_row))
        handles, labels, palette = [], [], iter(PALETTE * 4)
        defaults = panel["fieldConfig"]["defaults"]
        for item in shown:
            color_cfg = item.config.get("color", {})
            color = color_of(color_cfg["fixedColor"]) if color_cfg.get("mode") == "fixed" else next(palette)
            custom = item.config.get("custom", {})
            dashed = custom.get("lineStyle", {}).get("fill") == "dash"
            xs = [_dt(t) for t, _ in item.series.finite()]
            ys = [v for _, v in item.series.finite()]
            (line,) = ax.plot(xs, ys, color=color, lw=1.2 if dashed else 1.8, ls=(0, (6, 3)) if dashed else "-",
                              drawstyle="steps-post", zorder=3 if dashed else 4)
            if not dashed and custom.get("fillOpacity", 0):
                ax.fill_between(xs, ys, step="post", color=color, alpha=custom["fillOpacity"] / 100, lw=0)
            handles.append(line)
            labels.append(item.name)
        values = [v for item in shown for _, v in item.series.finite()]
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
        bottom = defaults.get("min", low - pad)
        ax.set_ylim(bottom, high + pad)
        ax.yaxis.set_major_formatter(lambda v, _: fmt(v, {**defaults, "decimals": 0}))
        if defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode") == "area":
            steps = defaults["thresholds"]["steps"]
            y0, y1 = ax.get_ylim()
            for i, step in enumerate(steps):
                lo = y0 if step["value"] is None else max(y0, step["value"])
                hi = y1 if i + 1 == len(steps) else min(y1, steps[i + 1]["value"])
                if hi > lo:
                    ax.axhspan(lo, hi, color=color_of(step["color"]), alpha=0.09, lw=0, zorder=1)
            ax.set_ylim(y0, y1)
        self._legend(ax, handles, labels, box[2])

    def state_timeline(self, panel: Json, shown: list[Shown], box: tuple[float, float, float, float]) -> None:
        """One lane per series, coloured by the value mappings."""
        left, top, width, height = box
        mapping = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
        names = [self.text(item.name) for item in shown]
        label_in = min(2.6, 0.3 + 0.065 * max(len(n) for n in names))
        ax = self.fig.add_axes(self._rect(left + label_in, top, width - label_in - 0.05, height - 0.55))
        ax.set_facecolor(PANEL)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(colors=MUTED, labelsize=7, length=0)
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S" if self.end - self.start < 3 * 3600 else "%m-%d %H:%M"))
        for lane, item in enumerate(shown):
            points = item.series.finite()
            for (t, v), nxt in zip(points, [*points[1:], (self.end, 0.0)], strict=True):
                state = mapping.get(str(int(v)), {"color": "text"})
                ax.barh(lane, nxt[0] - t, left=t, height=0.8, color=color_of(state["color"]), lw=0)
        ax.set_yticks(range(len(shown)), names, fontfamily=self.rc["family"])
        ax.set_ylim(len(shown) - 0.5, -0.5)
        ax.set_xlim(self.start, self.end)
        ticks = ax.get_xticks()
        ax.set_xticks(ticks, [datetime.fromtimestamp(t).strftime("%H:%M:%S") for t in ticks])
        ax.set_xlim(self.start, self.end)
        handles = [Patch(color=color_of(s["color"]), label=self.text(s["text"])) for s in mapping.values()]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=len(handles), frameon=False,
                  labelcolor=TEXT, prop={"family": self.rc["family"], "size": 7})

    def bargauge(self, panel: Json, shown: list[Shown], box: tuple[float, float, float, float]) -> None:
        """Horizontal bars of the last values, coloured by their thresholds."""
        left, top, width, height = box
        ax = self.fig.add_axes(self._rect(left, top, width, height))
        ax.set_axis_off()
        defaults = panel["fieldConfig"]["defaults"]
        values = [item.series.finite()[-1][1] for item in shown]
        high = defaults.get("max", max(max(values), 1e-9))
        low = defaults.get("min", 0.0)
        n = len(shown)
        for i, (item, value) in enumerate(zip(shown, values, strict=True)):
            y = 1 - (i + 0.5) / n
            color = color_of(step_color(item.config.get("thresholds"), value))
            frac = max(0.0, min(1.0, (value - low) / ((high - low) or 1)))
            ax.text(0, y + 0.28 / n, self.text(item.name), color=TEXT, fontsize=7, va="center",
                    fontfamily=self.rc["family"])
            ax.barh(y - 0.1 / n, 0.82, left=0, height=0.45 / n, color=BORDER)
            ax.barh(y - 0.1 / n, 0.82 * frac, left=0, height=0.45 / n, color=color)
            ax.text(0.99, y - 0.1 / n, fmt(value, item.config), color=color, fontsize=9, fontweight="bold",
                    va="center", ha="right")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)


def _dt(t: float) -> float:
    """Matplotlib's date number of a unix time, in local time."""
    return float(date2num(datetime.fromtimestamp(t)))


def color_of(name: str) -> str:
    """A Grafana colour name (or hex) as hex."""
    return NAMED.get(name, name)


def step_color(thresholds: Json | None, value: float) -> str:
    """The colour of the threshold step a value falls in."""
    color = "green"
    for step in (thresholds or {}).get("steps", []):
        if step["value"] is None or value >= step["value"]:
            color = step["color"]
    return color


def field_config(panel: Json, name: str) -> dict[str, Any]:
    """The field config of a series: the panel's defaults with every matching override applied."""
    config = {k: v for k, v in panel["fieldConfig"]["defaults"].items()}
    config["custom"] = dict(config.get("custom", {}))
    for rule in panel["fieldConfig"].get("overrides", []):
        if rule["matcher"]["id"] == "byRegexp" and re.search(rule["matcher"]["options"], name):
            for prop in rule["properties"]:
                key = prop["id"]
                if key.startswith("custom."):
                    config["custom"][key.removeprefix("custom.")] = prop["value"]
                else:
                    config[key] = prop["value"]
    return config


def fmt(value: float, config: Mapping[str, Any]) -> str:
    """A value in the field's unit, as Grafana shows it."""
    unit, decimals = config.get("unit", "none"), config.get("decimals")
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else decimals}f}%"
    if unit == "s":
        if abs(value) >= 3600:
            return f"{value / 3600:.1f} h"
        return f"{value:.{0 if decimals is None else decimals}f} s" if abs(value) >= 1 or value == 0 \
            else f"{value * 1000:.0f} ms"
    text = f"{value:.{0 if decimals is None else decimals}f}"
    return text + unit.removeprefix("suffix:").strip() if unit.startswith("suffix:") else text


def fetch(board: Json, api: PrometheusApi, variables: Mapping[str, str | Sequence[str]], start: float, end: float,
          step: float) -> dict[int, list[tuple[str, Series]]]:
    """Every panel's series over [start, end], keyed by panel id."""
    span = max(60, int(end - start))
    ranges = {"__range": f"{span}s", "__rate_interval": f"{max(60, int(4 * step))}s", "__interval": f"{int(step)}s"}
    data: dict[int, list[tuple[str, Series]]] = {}
    for query in panel_queries(board, variables, ranges):
        for series in api.query_range(query.expr, start, end, step):
            data.setdefault(query.panel_id, []).append((legend_name(query.legend, series.labels), series))
    return data


def render_preview(board: Json, prometheus_url: str, out: Path, variables: Mapping[str, str | Sequence[str]],
                   minutes: float = 15.0, end: float | None = None, step: float | None = None,
                   trim: bool = True) -> Path:
    """Query Prometheus for every panel of the dashboard over the last `minutes` and draw the PNG; `trim` starts
    the picture where the data starts when that is well inside the range."""
    end = end if end is not None else datetime.now().timestamp()
    start = end - minutes * 60
    step = step or max(1.0, round(minutes * 60 / 400))
    with PrometheusApi(prometheus_url) as api:
        data = fetch(board, api, variables, start, end, step)
    first = min((s.finite()[0][0] for found in data.values() for _, s in found if s.finite()), default=start)
    if trim and first > start + (end - start) * 0.05:  # a stack started within the range: no empty lead-in
        start = first - (end - first) * 0.02
    shown = ", ".join(f"{k} {'All' if v in ('.*', ['.*']) else v}" for k, v in variables.items())
    window = f"{datetime.fromtimestamp(start):%Y-%m-%d %H:%M:%S} – {datetime.fromtimestamp(end):%H:%M:%S}"
    return Renderer(board, data, start, end, f"{shown}  ·  {window}").render(out)
