"""Inline SVG charts of a statement (no scripts, no network): window values over time per queue against the
threshold, one bar per queue for a single window, and volume bars."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from streams.report.labels import fmt_count, fmt_value

STATUS_COLORS = {"met": "#2e7d32", "breached": "#c62828", "insufficient_volume": "#9e9e9e"}
SERIES_COLORS = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#37474f")
_HALO = 'stroke="white" stroke-width="3" paint-order="stroke"'
"""A white outline that keeps labels readable over lines and bars."""
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 600, 210, 60, 96, 14, 28


@dataclass(frozen=True)
class Point:
    """One window on a chart: when it starts, its value and status."""

    at: datetime
    value: float | None
    status: str


@dataclass(frozen=True)
class Levels:
    """The term's lines: threshold (breach level) and optional warning, with the unit for tick labels."""

    threshold: float
    warning: float | None
    unit: str
    threshold_label: str


def _y_range(values: Sequence[float], levels: Levels) -> tuple[float, float]:
    found = [*values, levels.threshold] + ([levels.warning] if levels.warning is not None else [])
    lo, hi = min(found), max(found)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    if levels.unit != "score":  # only NPS can be negative
        lo = max(lo, 0.0)
    if levels.unit == "ratio":
        hi = min(hi, 1.0)
    return lo, hi


def _levels(levels: Levels, y_of: Callable[[float], float]) -> tuple[list[str], list[str]]:
    """The threshold and warning lines, and their labels (drawn last, over the data)."""
    lines, labels = [], []
    for level, color, text in ((levels.threshold, "#c62828", levels.threshold_label),
                               (levels.warning, "#f9a825", None)):
        if level is None:
            continue
        y = y_of(level)
        lines.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        if text:
            labels.append(f'<text x="{_W - _RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" font-size="11" '
                          f'fill="{color}" {_HALO}>{escape(text)} {escape(fmt_value(level, levels.unit))}</text>')
    return lines, labels


def _grid(lo: float, hi: float, unit: str, y_of: Callable[[float], float]) -> list[str]:
    """Horizontal grid lines with value ticks."""
    parts = []
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        y = y_of(v)
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
                     f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f'{escape(fmt_value(v, unit))}</text>')
    return parts


def _svg(parts: Sequence[str], height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" '
            f'role="img" aria-label="{escape(title)}" font-family="sans-serif">{"".join(parts)}</svg>')


def line_chart(series: Sequence[tuple[str, Sequence[Point]]], start: datetime, end: datetime, levels: Levels,
               title: str) -> str:
    """Window values over the period, one line per queue, breached windows as red dots, threshold dashed."""
    values = [p.value for _, pts in series for p in pts if p.value is not None]
    lo, hi = _y_range(values, levels)
    span = (end - start).total_seconds() or 1.0

    def x_of(at: datetime) -> float:
        return _LEFT + (at - start).total_seconds() / span * (_W - _LEFT - _RIGHT)

    def y_of(v: float) -> float:
        return _TOP + (hi - min(max(v, lo), hi)) / ((hi - lo) or 1.0) * (_H - _TOP - _BOTTOM)

    lines, labels = _levels(levels, y_of)
    parts = _grid(lo, hi, levels.unit, y_of) + lines
    days = max(1, round(span / 86400 / 8))
    tick = start
    while tick < end:
        x = x_of(tick)
        parts.append(f'<text x="{x:.1f}" y="{_H - 8}" text-anchor="middle" font-size="11" fill="#555">'
                     f'{tick:%m-%d}</text>')
        tick += timedelta(days=days)
    for n, (name, points) in enumerate(series):
        color = SERIES_COLORS[n % len(SERIES_COLORS)]
        path = " ".join(f"{x_of(p.at):.1f},{y_of(p.value):.1f}" for p in points if p.value is not None)
        if path:
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for p in points:
            if p.value is not None and p.status != "met":
                parts.append(f'<circle cx="{x_of(p.at):.1f}" cy="{y_of(p.value):.1f}" r="3" '
                             f'fill="{STATUS_COLORS[p.status]}"/>')
        y = _TOP + 8 + n * 15
        parts.append(f'<rect x="{_W - _RIGHT + 8}" y="{y + 14}" width="10" height="3" fill="{color}"/>'
                     f'<text x="{_W - _RIGHT + 22}" y="{y + 19}" font-size="11" fill="#333">{escape(name)}</text>')
    return _svg(parts + labels, _H, title)


def bar_chart(bars: Sequence[tuple[str, float | None, str]], levels: Levels | None, unit: str, title: str) -> str:
    """Horizontal bars, one per queue, coloured by status (or neutral for volumes), with the threshold dashed."""
    row, top = 22, 8
    height = top * 2 + row * max(len(bars), 1) + 16
    values = [v for _, v, _ in bars if v is not None]
    lo, hi = (0.0, max([*values, levels.threshold if levels else 0.0]) * 1.1 or 1.0)
    if unit == "ratio":
        hi = 1.0

    def x_of(v: float) -> float:
        return _LEFT + (min(max(v, lo), hi) - lo) / ((hi - lo) or 1.0) * (_W - _LEFT - _RIGHT)

    parts = []
    for n, (name, value, status) in enumerate(bars):
        y = top + n * row
        color = STATUS_COLORS.get(status, "#1565c0")
        text = fmt_value(value, unit) if levels else fmt_count(value)
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="#333">'
                     f'{escape(name)}</text>')
        if value is not None:
            parts.append(f'<rect x="{_LEFT}" y="{y + 3}" width="{x_of(value) - _LEFT:.1f}" height="{row - 6}" '
                         f'fill="{color}" opacity="0.85"/>'
                         f'<text x="{x_of(value) + 4:.1f}" y="{y + 15}" font-size="11" fill="#333" {_HALO}>'
                         f'{escape(text)}</text>')
    if levels is not None:
        x = x_of(levels.threshold)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 14}" stroke="#c62828" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/><text x="{x:.1f}" y="{height - 2}" '
                     f'text-anchor="middle" font-size="11" fill="#c62828">{escape(levels.threshold_label)} '
                     f'{escape(fmt_value(levels.threshold, unit))}</text>')
    return _svg(parts, height, title)
