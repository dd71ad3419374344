"""Availability as the seed contracts mean it: per service or pooled, open outages counted up to each window's end
and into the next, outages longer than the retention, maintenance and force-majeure exclusions (also on the
statement); and first-contact resolution. Batch and stream alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from streams.app.emitter import RawMessage
from streams.app.shell import StreamShell
from streams.contracts import parse_contract
from streams.contracts.loader import ContractError
from streams.core import Processor, WindowResult, compile_terms, compute
from streams.core.records import LateContribution
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import CallEnded, ServiceDown, ServiceProbe, ServiceUp
from streams.report import build_statement, parse_period
from streams.report.html_page import render_html
from streams.report.statement import Published
from streams.sinks import Metrics

TZ = ZoneInfo("Asia/Shanghai")
DAY = 86400
OCTOBER = 31 * DAY

CONTRACT = """
id: svc
name: services
timezone: Asia/Shanghai
scope: {services: [hotline, portal], queues: [q1]}
exclusions:
  - {from: "2026-10-10T02:00:00", until: "2026-10-10T04:00:00", kind: maintenance, reason: switch upgrade,
     services: [hotline]}
  - {from: "2026-10-20T00:00:00+08:00", until: "2026-10-21T00:00:00+08:00", kind: force_majeure, reason: typhoon}
terms:
  - {id: each, kpi: availability, threshold: 0.995, window: month, aggregate: per_service}
  - {id: pooled, kpi: availability, threshold: 0.995, window: month, aggregate: pooled}
  - {id: fcr, kpi: first_contact_resolution, threshold: 0.8, window: 1h}
"""
PLAIN = CONTRACT.split("exclusions:")[0] + "terms:" + CONTRACT.split("terms:")[1]
"""The contract without exclusions."""
_n = 0


def t(day: int, hour: float = 0, month: int = 10) -> datetime:
    """A local time in 2026."""
    return datetime(2026, month, day, tzinfo=TZ) + timedelta(hours=hour)


def ev(cls: type, when: datetime, **fields: object) -> object:
    global _n  # test-only counter for unique ids
    _n += 1
    return cls(event_id=f"a{_n}", occurred_at=when, **fields)


def results(events: list, text: str = PLAIN) -> list[WindowResult]:
    return [r for r in compute(events, compile_terms([parse_contract(text)])) if isinstance(r, WindowResult)]


def by_scope(found: list[WindowResult], term: str, start: str = "2026-10-01") -> dict[str, WindowResult]:
    return {r.scope: r for r in found if r.term == term and r.window_start.startswith(start)}


def hotline_down_five_hours() -> list:
    return [ev(ServiceUp, t(1), service="hotline"), ev(ServiceUp, t(1), service="portal"),
            ev(ServiceDown, t(10, 10), service="hotline"), ev(ServiceUp, t(10, 15), service="hotline"),
            ev(ServiceUp, t(1, 1, month=11), service="portal")]


def test_per_service_breaches_the_hotline_the_pooled_figure_hides() -> None:
    found = results(hotline_down_five_hours())
    each, pooled = by_scope(found, "each"), by_scope(found, "pooled")
    assert (each["hotline"].numerator, each["hotline"].denominator) == (OCTOBER - 5 * 3600, OCTOBER)
    assert round(each["hotline"].value, 4) == 0.9933 and each["hotline"].status == "breached"
    assert (each["portal"].value, each["portal"].status) == (1.0, "met")  # healthy, no event in October
    assert set(pooled) == {"all"} and pooled["all"].denominator == 2 * OCTOBER
    assert round(pooled["all"].value, 4) == 0.9966 and pooled["all"].status == "met"
    assert each["hotline"].closed_by == "watermark"


def test_an_outage_open_at_the_month_end_counts_in_it_and_in_the_next() -> None:
    events = [ev(ServiceUp, t(1), service="hotline"), ev(ServiceDown, t(31, 12), service="hotline")]
    [october] = by_scope(results(events), "each").values()  # the input ends down: counted to the window's end
    assert (october.numerator, october.denominator, october.status) == (OCTOBER - 12 * 3600, OCTOBER, "breached")
    found = results([*events, ev(ServiceUp, t(1, 12, month=11), service="hotline")])
    october, november = by_scope(found, "each")["hotline"], by_scope(found, "each", "2026-11")["hotline"]
    assert (october.numerator, october.closed_by) == (OCTOBER - 12 * 3600, "watermark")
    assert (november.numerator, november.denominator) == (30 * DAY - 12 * 3600, 30 * DAY)  # starts down


def test_an_outage_longer_than_the_retention_keeps_its_first_month() -> None:
    events = [ev(ServiceUp, t(1, month=9), service="hotline"), ev(ServiceDown, t(25, month=9), service="hotline"),
              ev(ServiceUp, t(5, month=11), service="hotline")]  # retention 1d: September closed long before
    out = compute(events, compile_terms([parse_contract(PLAIN)]))
    assert not [o for o in out if isinstance(o, LateContribution)]
    windows = [r for r in out if isinstance(r, WindowResult) and r.term == "each"]
    assert [(r.window_start[:7], r.numerator, r.denominator) for r in windows][:2] == [
        ("2026-09", 24 * DAY, 30 * DAY), ("2026-10", 0, OCTOBER)]


def test_maintenance_and_force_majeure_are_not_measured_and_are_listed() -> None:
    events = [ev(ServiceUp, t(1), service="hotline"), ev(ServiceUp, t(1), service="portal"),
              ev(ServiceDown, t(10, 1), service="hotline"), ev(ServiceUp, t(10, 5), service="hotline"),  # 2 h kept
              ev(ServiceDown, t(20, 6), service="hotline"), ev(ServiceUp, t(20, 12), service="hotline"),  # typhoon
              ev(ServiceProbe, t(20, 10), service="portal", ok=False, interval_seconds=60),  # in the typhoon
              ev(ServiceProbe, t(22, 10), service="hotline", ok=True, interval_seconds=60),
              ev(ServiceUp, t(1, 1, month=11), service="portal")]
    found = results(events, CONTRACT)
    each = by_scope(found, "each")
    measured = OCTOBER - 2 * 3600 - DAY + 60  # maintenance on the hotline only, the typhoon on both; the probe
    assert (each["hotline"].numerator, each["hotline"].denominator) == (measured - 2 * 3600, measured)
    assert (each["portal"].numerator, each["portal"].denominator) == (OCTOBER - DAY, OCTOBER - DAY)
    assert by_scope(found, "pooled")["all"].denominator == measured + OCTOBER - DAY
    contract = parse_contract(CONTRACT)
    statement = build_statement(contract, parse_period("2026-10", contract.timezone),
                                [Published(r.to_dict()) for r in found], [], [])
    assert [(e.kind, e.reason) for e in statement.exclusions] == [("maintenance", "switch upgrade"),
                                                                  ("force_majeure", "typhoon")]
    assert [sc.scope for sc in statement.terms[0].scopes] == ["hotline", "portal"]
    html = render_html(statement, "cckpi report")
    assert "typhoon" in html and "force majeure" in html and "Periods excluded from availability (2)" in html
    assert build_statement(contract, parse_period("2026-11", contract.timezone), [], [], []).exclusions == ()


def test_contract_checks_of_the_availability_fields() -> None:
    text = (CONTRACT.replace("scope: {services: [hotline, portal], queues: [q1]}", "scope: {queues: [q1]}")
            .replace("services: [hotline]}", "services: [hotline]}\n  - {from: 2026-10-02T00:00:00, "
                     "until: 2026-10-01T00:00:00, kind: maintenance, reason: backwards}")
            .replace("window: 1h}", "window: 1h, aggregate: per_service}"))
    with pytest.raises(ContractError) as error:
        parse_contract(text)
    assert str(error.value).splitlines() == [
        "<contract>:12: terms[0].aggregate: per_service needs the services, in the term or in the scope",
        "<contract>:14: terms[2].aggregate: first_contact_resolution takes aggregate pooled or per_queue",
        "<contract>:9: exclusions[1].until: 2026-10-01 00:00:00 is not after from 2026-10-02 00:00:00"]


def test_first_contact_resolution_counts_the_calls_that_say() -> None:
    def ended(minute: int, resolved: bool | None) -> object:
        return ev(CallEnded, t(1, 10 + minute / 60), call_id=f"c{minute}", queue="q1", talk_seconds=60,
                  resolved_first_contact=resolved)
    found = results([ended(1, True), ended(2, False), ended(3, True), ended(4, None), ended(70, True)])
    [first] = [r for r in found if r.term == "fcr" and r.window_start == "2026-10-01T10:00:00+08:00"]
    assert (first.numerator, first.denominator, first.status) == (2, 3, "breached")  # 66.7% < 80%; one unsaid


# --------------------------------------------------------------------------- the stream gives the same numbers


def messages(events: list) -> list[RawMessage]:
    def where(e: object) -> tuple[str, bytes]:
        return (topics.CALLS, b"q1") if isinstance(e, CallEnded) else (topics.AVAILABILITY, e.service.encode())  # type: ignore[attr-defined]
    return [RawMessage(where(e)[1], encode_event(e), where(e)[0], 0, i) for i, e in enumerate(events)]


def stream(text: str, events: list, wall: datetime | None = None) -> list[dict]:
    shell = StreamShell(Processor(compile_terms([parse_contract(text)])), Metrics(), idle_after=10)
    msgs = messages(events)
    table: dict[bytes, bytes] = {}
    for source in sorted({(m.topic, m.partition) for m in msgs}):
        shell.warm(source, table.items())
    sends = shell.on_batch(msgs, table, wall_now=events[-1].occurred_at.timestamp()).sends
    if wall is not None:
        sends += shell.on_tick((topics.AVAILABILITY, 0), [], wall_now=wall.timestamp()).sends
    return [orjson.loads(v) for topic, _k, v in sends if topic == topics.KPI_WINDOWS]


def test_stream_equals_batch_per_service_with_exclusions() -> None:
    events = [*hotline_down_five_hours()[:-1], ev(ServiceDown, t(20, 6), service="hotline"),
              ev(ServiceUp, t(20, 12), service="hotline"), ev(ServiceDown, t(31, 12), service="portal"),
              ev(ServiceProbe, t(2, 1, month=11), service="portal", ok=False, interval_seconds=60)]
    expected = sorted((r.key, r.numerator, r.denominator, r.status) for r in results(events, CONTRACT)
                      if r.closed_by != "end_of_input")
    got = sorted((r["key"], r["numerator"], r["denominator"], r["status"]) for r in stream(CONTRACT, events))
    assert got == expected and {k.split("/")[2] for k, *_ in got} == {"hotline", "portal", "all"}


def test_the_idle_clock_closes_a_month_with_its_open_outage() -> None:
    events = [ev(ServiceUp, t(1), service="hotline"), ev(ServiceDown, t(31, 12), service="hotline")]
    [october] = [r for r in stream(PLAIN, events, wall=t(1, 1, month=11)) if r["term"] == "each"]
    assert (october["scope"], october["numerator"], october["closed_by"]) == ("hotline", OCTOBER - 12 * 3600, "idle")


def test_stream_equals_batch_for_first_contact_resolution() -> None:
    events = [ev(CallEnded, t(1, 10 + m / 60), call_id=f"s{m}", queue="q1", talk_seconds=30,
                 resolved_first_contact=m % 3 != 0) for m in range(1, 80, 7)]
    expected = sorted((r.key, r.numerator, r.denominator) for r in results(events)
                      if r.term == "fcr" and r.closed_by != "end_of_input")
    got = sorted((r["key"], r["numerator"], r["denominator"]) for r in stream(PLAIN, events) if r["term"] == "fcr")
    assert got == expected and got
