"""Tumbling windows align to the contract's local calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.core import WindowSpec

SH = ZoneInfo("Asia/Shanghai")


def iso(spec: WindowSpec, local: str) -> tuple[str, str]:
    start, end = spec.bounds(datetime.fromisoformat(local).replace(tzinfo=SH).timestamp())
    return spec.iso(start), spec.iso(end)


@pytest.mark.parametrize(("window", "local", "expected"), [
    ("15m", "2026-11-23T10:14:59", ("2026-11-23T10:00:00+08:00", "2026-11-23T10:15:00+08:00")),
    ("1h", "2026-11-23T00:00:00", ("2026-11-23T00:00:00+08:00", "2026-11-23T01:00:00+08:00")),
    ("day", "2026-11-23T23:59:59", ("2026-11-23T00:00:00+08:00", "2026-11-24T00:00:00+08:00")),
    ("week", "2026-11-29T12:00:00", ("2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00")),
    ("month", "2026-12-31T23:00:00", ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")),
    ("quarter", "2026-11-23T08:00:00", ("2026-10-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")),
    ("quarter", "2026-02-01T08:00:00", ("2026-01-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00")),
])
def test_bounds(window: str, local: str, expected: tuple[str, str]) -> None:
    assert iso(WindowSpec.parse(window, SH), local) == expected


@given(st.integers(min_value=1_600_000_000, max_value=1_900_000_000),
       st.sampled_from(["1m", "15m", "30m", "1h", "8h", "day", "week", "month", "quarter"]),
       st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]))
def test_every_instant_falls_in_exactly_one_window(epoch: int, window: str, zone: str) -> None:
    spec = WindowSpec.parse(window, ZoneInfo(zone))
    start, end = spec.bounds(epoch)
    assert start <= epoch < end
    assert spec.bounds(start) == (start, end)
    assert spec.bounds(end)[0] == end  # windows tile time with no gap or overlap
