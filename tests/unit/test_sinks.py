"""The sink interface: every output reaches every sink wired in `build_sinks`, routed by type once; a new sink is
one class and one line at the wiring point; the Alertmanager and Grafana sinks take the stream's outputs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from streams.app.shell import StreamShell
from streams.core import Processor
from streams.core.records import (
    BreachUpdate,
    ConflictingDuplicate,
    DuplicateEvent,
    LateContribution,
    Output,
    RejectedEvent,
    TicketMissed,
    UnscopedEvent,
    WindowResult,
)
from streams.kafka_io import topics
from streams.sinks import Metrics
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.base import Handler, RawMessage, Send, Sinks
from streams.sinks.grafana import GrafanaSink
from streams.sinks.wiring import build_sinks
from tests.helpers import abandoned, answered, at, offered, terms
from tests.unit.test_alertmanager_sink import BASE
from tests.unit.test_shell import msg


class Probe:
    """A sink that takes everything, remembering each output with the offset of its message (None: a tick)."""

    def __init__(self) -> None:
        self.received: list[tuple[Output, int | None]] = []

    def routes(self) -> Mapping[type[Any], Handler]:
        return {object: self.take}

    def take(self, out: Output, sends: list[Send], msg: RawMessage | None) -> None:
        self.received.append((out, None if msg is None else msg.offset))

    async def flush(self) -> int:
        return 0


def test_a_sink_added_at_the_wiring_point_receives_every_output() -> None:
    index, metrics, probe = terms(), Metrics(), Probe()
    sinks = build_sinks(metrics, index, extra=[probe])  # the one wiring point
    shell = StreamShell(Processor(index), metrics, idle_after=5, sinks=sinks)
    produced: list[Output] = []  # every output the core handed the shell's emitter (the core may be compiled:
    emit = shell.out.emit        # its classes cannot be subclassed or patched, the emitter can)

    def recording(sends: list[Any], outputs: list[Output], raw: Any) -> None:
        produced.extend(outputs)
        emit(sends, outputs, raw)

    shell.out.emit = recording  # type: ignore[method-assign]
    first = answered(at("10:01"))
    events = [first, abandoned(at("10:02")), abandoned(at("10:03")), first,  # the repeat: a duplicate
              first.model_copy(update={"wait_seconds": 99.0}), answered(at("10:04"), queue="q9"),  # unscoped
              offered(at("12:00")), abandoned(at("10:05")),  # past the retention of 10:00-10:15: late
              answered(at("12:01"))]  # its window is closed by the idle clock
    batch = [msg(e, i) for i, e in enumerate(events)] + [msg(b"{", 9), msg(answered(at("12:01")), 10, key=b"q2")]
    shell.on_batch(batch, stored={}, wall_now=at("12:02").timestamp())
    idle_clock = at("23:00").timestamp()
    shell.on_tick((topics.CALLS, 0), [], wall_now=idle_clock)  # its engine is held: nothing is read
    got = [out for out, _ in probe.received]
    shell_made = [out for out in got if isinstance(out, RejectedEvent | UnscopedEvent)]
    assert [out for out in got if out not in shell_made] == [o for o in produced if o not in shell_made]  # all
    assert [(type(o).__name__, getattr(o, "kind", "")) for o in shell_made] == [
        ("UnscopedEvent", ""), ("RejectedEvent", "not_json"), ("RejectedEvent", "wrong_key")]
    kinds = {type(out) for out in got}
    assert {WindowResult, BreachUpdate, DuplicateEvent, ConflictingDuplicate, LateContribution} <= kinds
    offsets = {type(out): offset for out, offset in probe.received}
    assert offsets[DuplicateEvent] == 3 and offsets[LateContribution] == 7 and offsets[RejectedEvent] == 10
    assert isinstance(got[-1], WindowResult) and got[-1].closed_by == "idle" and probe.received[-1][1] is None


def test_the_runtimes_share_the_sinks_they_are_given() -> None:
    index, metrics = terms(), Metrics()
    sinks = build_sinks(metrics, index, alertmanager_url="http://am")
    stream = StreamShell(Processor(index), metrics, idle_after=5, sinks=sinks)
    assert stream.out.sinks is sinks  # one shell for every family
    [alerts] = [s for s in sinks.sinks if isinstance(s, AlertmanagerSink)]
    stream.on_batch([msg(answered(at("10:01")), 0), msg(abandoned(at("10:02")), 1), msg(abandoned(at("10:03")), 2)],
                    stored={})
    [alert] = alerts.due(now=0)  # breached while the window is open
    assert alert["labels"]["severity"] == "breach" and alert["labels"]["scope"] == "q1"


@dataclass(frozen=True)
class Revised(WindowResult):
    """A subclass of a core output (a sink taking the base class takes it too)."""


def test_outputs_are_routed_by_type_once() -> None:
    probe = Probe()
    windows: list[WindowResult] = []

    class WindowsOnly(Probe):
        def routes(self) -> Mapping[type[Any], Handler]:
            return {WindowResult: lambda out, sends, msg: windows.append(out)}

    sinks = Sinks([WindowsOnly(), probe])
    assert set(sinks.table) >= {WindowResult, BreachUpdate, TicketMissed, RejectedEvent}
    assert sinks.table[TicketMissed] == (probe.take,)
    window = WindowResult("c", "t", "answer_rate", "ratio", "q1", "s", "e", 0.5, 1, 2, 0.8, None, "breached", 0,
                          "watermark")
    sub = Revised(*(getattr(window, f) for f in window.__dataclass_fields__))
    sinks.emit([window, sub, DuplicateEvent("q1", "e1")], [], None)
    assert windows == [window, sub] and [o for o, _ in probe.received] == [window, sub, DuplicateEvent("q1", "e1")]


class FakeAnnotations:
    """grafana-client's annotations API, recording the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def add_annotation(self, **payload: Any) -> dict[str, Any]:
        self.calls.append(("add", payload["tags"]))
        return {"id": len(self.calls), "message": "Annotation added"}

    def delete_annotations_by_id(self, annotations_id: int) -> dict[str, Any]:
        self.calls.append(("delete", annotations_id))
        return {"message": "Annotation deleted"}

    def find_annotations(self, **query: Any) -> list[dict[str, Any]]:
        """An empty Grafana: nothing annotated before this worker (lookups are not recorded)."""
        return []


def test_grafana_sink_annotates_final_breaches_of_the_stream_once_and_removes_revised_ones() -> None:
    api = type("Api", (), {"annotations": FakeAnnotations()})()
    grafana = GrafanaSink(api)  # type: ignore[arg-type]
    sinks = Sinks([grafana])
    final = replace(BASE, state="final", status="breached", value=0.5, revision=2)
    ticket = TicketMissed("c", "fr", "first_response", "T1", "2026-11-23T09:00:00+08:00",
                          "2026-11-23T09:10:00+08:00", "2026-11-23T09:10:00+08:00", "deadline")
    sinks.emit([BASE, final, ticket], [], None)  # BASE is an open warning: no annotation
    assert asyncio.run(sinks.flush()) == 2
    sinks.emit([replace(final, revision=3, window_revision=1), ticket], [], None)  # still breached; a replay
    assert asyncio.run(sinks.flush()) == 0
    sinks.emit([replace(final, revision=4, window_revision=2, status="met", value=0.9)], [], None)
    asyncio.run(sinks.flush())
    assert api.annotations.calls == [("add", ["cckpi", "breach", "c", "ar", "q1"]),
                                     ("add", ["cckpi", "ticket", "c", "fr"]), ("delete", 1)]
