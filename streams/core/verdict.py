"""Judging a window's aggregate against a term: met, breached or insufficient volume."""

from __future__ import annotations

from typing import Literal

Status = Literal["met", "breached", "insufficient_volume"]


def judge(numerator: float, denominator: float, threshold: float, higher_is_better: bool,
          min_volume: int) -> tuple[float | None, Status]:
    """The window's value and its status; too few contributions cannot breach."""
    value = numerator / denominator if denominator else None
    if value is None or denominator < min_volume:
        return value, "insufficient_volume"
    ok = value >= threshold if higher_is_better else value <= threshold
    return value, "met" if ok else "breached"
