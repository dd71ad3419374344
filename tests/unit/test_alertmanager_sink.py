"""The Alertmanager sink: lifecycle steps become firing and resolved alerts; active ones are re-sent."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from streams.core.records import BreachUpdate, WindowResult
from streams.sinks.alertmanager import AlertmanagerSink

BASE = BreachUpdate(contract="c", term="ar", kpi="answer_rate", unit="ratio", scope="q1",
                    window_start="2026-11-23T10:00:00+08:00", window_end="2026-11-23T10:15:00+08:00",
                    state="warning", status="met", value=0.85, numerator=17, denominator=20, threshold=0.8,
                    warning=0.9, revision=1, since="2026-11-23T02:03:00+00:00", sample=("e1", "e2"))


def names(batch: list[dict]) -> list[tuple[str, str]]:
    return [(a["labels"]["severity"], "resolved" if "endsAt" in a and a["annotations"]["state"] != "final"
             else "firing") for a in batch]


def test_lifecycle_to_alerts() -> None:
    sink = AlertmanagerSink("http://am", dashboard_url="http://grafana/d/ops", resend_every=60)
    sink.on_update(BASE)
    assert names(sink.due(now=0)) == [("warning", "firing")]
    sink.on_update(replace(BASE, state="breached", status="breached", value=0.7, revision=2))
    batch = sink.due(now=1)
    assert names(batch) == [("warning", "resolved"), ("breach", "firing")]
    breach = batch[1]
    assert breach["labels"] == {"alertname": "CckpiTermBreach", "contract": "c", "term": "ar", "scope": "q1",
                                "kpi": "answer_rate", "severity": "breach"}
    assert breach["annotations"]["summary"] == "Answer rate 70.0% < 80.0% (c/ar, q1)"
    assert breach["generatorURL"] == "http://grafana/d/ops?var-contract=c&var-scope=q1"
    assert sink.due(now=30) == []  # nothing changed, not yet time to re-send
    assert names(sink.due(now=61)) == [("breach", "firing")]  # re-sent so Alertmanager keeps it
    sink.on_update(replace(BASE, state="recovered", status="met", value=0.95, revision=3))
    assert names(sink.due(now=62)) == [("breach", "resolved")] and sink.active == {}


def test_a_window_closing_breached_fires_for_a_while() -> None:
    sink = AlertmanagerSink("http://am")
    sink.on_update(replace(BASE, state="final", status="breached", value=0.5, revision=4))
    [alert] = sink.due(now=0)
    assert alert["labels"]["severity"] == "breach" and alert["endsAt"] > alert["startsAt"]


def test_forecast_warnings_are_alerts_of_their_own() -> None:
    sink = AlertmanagerSink("http://am")
    sink.on_update(BASE)
    forecast = replace(BASE, state="warning", value=0.71, basis="forecast", revision=1, sample=())
    sink.on_update(forecast)
    batch = sink.due(now=0)
    assert names(batch) == [("warning", "firing"), ("forecast", "firing")]
    alert = batch[1]
    assert alert["labels"]["alertname"] == "CckpiTermForecast" and alert["labels"]["severity"] == "forecast"
    assert "forecast to end at 71.0% < 80.0%" in alert["annotations"]["summary"]
    sink.on_update(replace(BASE, state="recovered", revision=2))  # the observed warning clears, the forecast stays
    assert names(sink.due(now=1)) == [("warning", "resolved")]
    sink.on_update(replace(forecast, state="recovered", revision=2))
    assert names(sink.due(now=2)) == [("forecast", "resolved")] and sink.active == {}


def window(start: str, end: str, status: str) -> WindowResult:
    return WindowResult(contract="c", term="ar", kpi="answer_rate", unit="ratio", scope="q1", window_start=start,
                        window_end=end, value=0.95, numerator=19, denominator=20, threshold=0.8, warning=0.9,
                        status=status, revision=0, closed_by="watermark")  # type: ignore[arg-type]


def test_a_later_clean_window_resolves_a_closed_breach() -> None:
    """A window that closed breached fires until a later window of its term and scope closes without a breach; a
    late revision of an earlier window, a breached later window or another scope leave it firing."""
    sink = AlertmanagerSink("http://am")
    sink.on_update(replace(BASE, state="final", status="breached", value=0.5, revision=4))
    assert names(sink.due(now=0)) == [("breach", "firing")]
    sink.on_window(window("2026-11-23T09:45:00+08:00", "2026-11-23T10:00:00+08:00", "met"))  # earlier window
    sink.on_window(window("2026-11-23T10:15:00+08:00", "2026-11-23T10:30:00+08:00", "breached"))
    sink.on_window(replace(window("2026-11-23T10:15:00+08:00", "2026-11-23T10:30:00+08:00", "met"), scope="q2"))
    assert sink.due(now=1) == [] and len(sink.active) == 1
    sink.on_window(window("2026-11-23T02:15:00+00:00", "2026-11-23T02:30:00+00:00", "met"))  # same instant in UTC
    [resolved] = sink.due(now=2)
    assert resolved["labels"]["severity"] == "breach" and resolved["endsAt"] < (datetime.now(UTC)).isoformat()
    assert sink.active == {}


def test_an_alert_of_event_time_ahead_of_the_wall_clock_is_valid() -> None:
    """A step whose `since` is ahead of now (a simulator running ahead) starts now, so its end (the final TTL, or
    the resolution) is never before its start: Alertmanager refuses such an alert."""
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    sink = AlertmanagerSink("http://am")
    sink.on_update(replace(BASE, state="final", status="breached", value=0.5, since=ahead, revision=4))
    [fired] = sink.due(now=0)
    assert fired["startsAt"] <= datetime.now(UTC).isoformat() < fired["endsAt"]
    sink.on_window(window("2026-11-23T10:15:00+08:00", "2026-11-23T10:30:00+08:00", "met"))
    [resolved] = sink.due(now=1)
    assert resolved["startsAt"] <= resolved["endsAt"]


def test_alerts_alertmanager_refuses_as_invalid_are_not_retried() -> None:
    """A 400 (some alert invalid; Alertmanager keeps the valid ones) is logged and dropped: retrying the same batch
    could never succeed and would grow with every flush. A 503 keeps the batch for the next flush."""
    statuses = [400, 503, 200]
    posted: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posted.append(len(orjson.loads(request.content)))
        return httpx.Response(statuses.pop(0), text="start time must be before end time")

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            sink = AlertmanagerSink("http://am", resend_every=1e9)
            sink.on_update(BASE)
            first = await sink.flush(client)
            sink.on_update(replace(BASE, state="breached", status="breached", value=0.7, revision=2))
            return [first, await sink.flush(client), await sink.flush(client)]

    assert asyncio.run(run()) == [0, 0, 2]
    assert posted == [1, 2, 2]  # the refused batch is gone; the unavailable one came again
