"""Input that must not take over the worker: an event stamped days ahead, an event id re-sent with another time or
other content, events for queues or services no contract names (state and metric series from input)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from prometheus_client import generate_latest
from typer.testing import CliRunner

from streams.app.emitter import RawMessage
from streams.app.settings import MAX_FUTURE_SECONDS
from streams.app.shell import BatchResult, StreamShell
from streams.cli.main import app
from streams.cli.worker import checked_tolerance, future_tolerance
from streams.contracts import parse_contract
from streams.core import Processor, ScopeState, WindowResult, compile_terms, compute
from streams.core.batch import Engine
from streams.core.dedupe import UNKNOWN_DIGEST, SeenIds, content_digest
from streams.core.records import ConflictingDuplicate, DuplicateEvent, UnscopedEvent
from streams.kafka_io import topics
from streams.models import encode_event
from streams.models.events import AgentReady, ServiceDown, ServiceUp, SurveySubmitted, TicketCreated
from streams.sinks import Metrics
from streams.sinks.metrics import safe_label
from tests.helpers import CONTRACT, abandoned, answered, at, offered, terms
from tests.unit.test_tickets_surveys_availability import HELPDESK

WALL = at("12:00").timestamp()


def msg(event: object, offset: int) -> RawMessage:
    return RawMessage(event.queue.encode(), encode_event(event), topics.CALLS, 0, offset)  # type: ignore[attr-defined]


def sent(result: BatchResult, topic: str) -> list[dict]:
    return [orjson.loads(v) for t, _k, v in result.sends if t == topic]


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def windows(outputs: list) -> list[tuple]:
    return sorted((w.key, w.revision, w.numerator, w.denominator) for w in outputs if isinstance(w, WindowResult))


# --- an event stamped ahead of the worker clock -------------------------------------------------------------------

def test_one_event_days_ahead_does_not_blind_its_queue() -> None:
    """The issue's case: one valid event 6 days ahead, then real-time events. They all count, none is late."""
    s = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    bogus = answered(at("10:00") + timedelta(days=6))
    first = s.on_batch([msg(bogus, 0)], stored={}, wall_now=WALL)
    assert [d["kind"] for d in sent(first, topics.DEAD_LETTER)] == ["future_event"]
    real = [answered(at("10:00", 5 + 5 * i), wait=1) if i % 4 else abandoned(at("10:00", 5 + 5 * i), wait=1)
            for i in range(100)]  # 10:00:05 to 10:08:20, as they happen
    result = s.on_batch([msg(e, 1 + i) for i, e in enumerate(real)] + [msg(offered(at("10:20")), 101)], stored={},
                        wall_now=at("10:20").timestamp())
    assert sent(result, topics.DEAD_LETTER) == []
    [window] = sent(result, topics.KPI_WINDOWS)
    assert (window["window_start"], window["numerator"], window["denominator"]) == (
        "2026-11-23T10:00:00+08:00", 75, 100)


def test_event_within_the_tolerance_counts_and_real_time_events_still_count() -> None:
    """An event a little ahead (source clock skew) is taken; it moves the clock by less than the grace, so events
    arriving on time afterwards still fall in open windows."""
    s = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    wall = at("10:14").timestamp()
    ahead = answered(at("10:14") + timedelta(seconds=MAX_FUTURE_SECONDS - 1))
    on_time = [answered(at("10:14", 10)), abandoned(at("10:14", 20))]
    result = s.on_batch([msg(ahead, 0), *(msg(e, 1 + i) for i, e in enumerate(on_time))], stored={}, wall_now=wall)
    assert sent(result, topics.DEAD_LETTER) == []
    result = s.on_batch([msg(offered(at("10:30")), 3)], stored={}, wall_now=at("10:30").timestamp())
    assert [(w["numerator"], w["denominator"]) for w in sent(result, topics.KPI_WINDOWS)] == [(2, 3)]


def test_tolerance_default_flag_and_user_errors() -> None:
    assert MAX_FUTURE_SECONDS == future_tolerance(None, None) == 60
    assert future_tolerance("5m", None) == 300 and future_tolerance(None, 2) == 2 * 86400
    runner = CliRunner()
    for args in (["--max-future", "5x"], ["--max-future", "1m", "--max-future-days", "1"],
                 ["--max-future-days", "-1"]):
        result = runner.invoke(app, ["worker", "-c", "contracts/examples/demo.yaml", *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "error:" in result.output


def test_a_tolerance_longer_than_the_shortest_grace_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    contracts = [parse_contract(CONTRACT)]  # grace 2m
    assert checked_tolerance("1m", None, contracts) == 60 and capsys.readouterr().err == ""
    assert checked_tolerance("7d", None, contracts) == 7 * 86400
    assert "longer than the shortest grace (2.0 min)" in capsys.readouterr().err


def test_low_volume_shell_takes_the_same_tolerance() -> None:
    shell = StreamShell(Processor(compile_terms([parse_contract(HELPDESK)])), Metrics(), idle_after=10)
    ahead = TicketCreated(event_id="t-ahead", ticket_id="t", category="request",
                          occurred_at=at("12:00") + timedelta(hours=1))
    sends = shell.on_batch([RawMessage(b"t", encode_event(ahead), topics.TICKETS, 0, 0)], {}, wall_now=WALL).sends
    assert [orjson.loads(v)["kind"] for _t, _k, v in sends] == ["future_event"]


# --- duplicate ids --------------------------------------------------------------------------------------------------

def _resent(event: object, **changes: object) -> object:
    return type(event).model_validate({**event.model_dump(), **changes})  # type: ignore[attr-defined]


def test_an_id_counts_once_whatever_time_a_copy_carries_in_stream_and_batch() -> None:
    """The issue's case: events re-sent with their time moved an hour counted again in the other hour's window."""
    first = [answered(at("10:01")), abandoned(at("10:02")), answered(at("10:03"))]
    moved = [_resent(e, occurred_at=e.occurred_at + timedelta(hours=1)) for e in first]
    events = [*first, *moved, answered(at("11:04")), offered(at("12:00"))]
    batch = compute(events, terms())
    assert windows(batch) == [("t/ar/q1/2026-11-23T10:00:00+08:00", 0, 2, 3),
                              ("t/ar/q1/2026-11-23T11:00:00+08:00", 0, 1, 1)]
    assert [type(o) for o in batch if isinstance(o, ConflictingDuplicate)] == [ConflictingDuplicate] * 3

    s = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    result = s.on_batch([msg(e, i) for i, e in enumerate(events)], stored={}, wall_now=at("12:00").timestamp())
    assert sorted((w["key"], w["revision"], w["numerator"], w["denominator"])
                  for w in sent(result, topics.KPI_WINDOWS)) == windows(batch)
    dead = sent(result, topics.DEAD_LETTER)
    assert [d["kind"] for d in dead] == ["conflicting_duplicate"] * 3
    assert [d["offset"] for d in dead] == [3, 4, 5]
    assert first[0].event_id in dead[0]["reason"] and "digest" in dead[0]["reason"]
    assert [d["event_id"] for d in dead] == [e.event_id for e in first]
    assert all(len(d["first_digest"]) == len(d["digest"]) == 8 and d["first_digest"] != d["digest"] for d in dead)
    assert sample(s.metrics, "cckpi_events_conflicting_duplicate_total") == 3
    assert sample(s.metrics, "cckpi_dead_letters_total", reason="conflicting_duplicate") == 3


def test_an_identical_copy_is_a_plain_duplicate_and_other_content_a_conflict_with_both_digests() -> None:
    state_terms = terms()
    engine = Engine(state_terms)
    original = answered(at("10:01"), wait=10)
    assert not [o for o in engine.ingest(original) if isinstance(o, DuplicateEvent | ConflictingDuplicate)]
    assert engine.ingest(_resent(original)) == [DuplicateEvent("q1", original.event_id)]
    [conflict] = engine.ingest(_resent(original, wait_seconds=99))
    assert isinstance(conflict, ConflictingDuplicate)
    assert len(conflict.first_digest) == len(conflict.digest) == 8 and conflict.first_digest != conflict.digest
    assert conflict.first_digest in conflict.reason and conflict.digest in conflict.reason


def test_conflicts_are_recognised_after_a_restart_from_the_changelogs() -> None:
    first = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    events = [answered(at("10:01")), abandoned(at("10:02"))]
    result = first.on_batch([msg(e, i) for i, e in enumerate(events)], stored={}, wall_now=WALL)
    table = {key: value for _p, key, value in result.writes() if value is not None}  # seen ids and states
    second = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    again = [_resent(events[0]), _resent(events[1], occurred_at=events[1].occurred_at + timedelta(hours=1))]
    result = second.on_batch([msg(e, 2 + i) for i, e in enumerate(again)], stored=table, wall_now=WALL)
    assert [d["kind"] for d in sent(result, topics.DEAD_LETTER)] == ["conflicting_duplicate"]
    assert sample(second.metrics, "cckpi_events_duplicate_total") == 1


def test_ids_stored_before_digests_existed_still_count_as_duplicates() -> None:
    seen = SeenIds()
    seen.load([[3600, 1]], {"3600.0": orjson.dumps({"old": 7})}.get)  # the earlier format: id -> position
    assert seen.first("old", applied=7) == UNKNOWN_DIGEST and not seen.has("old", applied=6)
    event = answered(at("10:01")).model_copy(update={"event_id": "old"})
    state = ScopeState(seen=seen, applied=10)
    assert Processor.repeated(state, "q1", event, content_digest(event)) == DuplicateEvent("q1", "old")


def test_ticket_and_availability_ids_count_once_whatever_their_time() -> None:
    index = compile_terms([parse_contract(HELPDESK)])
    created = TicketCreated(event_id="c1", ticket_id="t1", category="request", occurred_at=at("10:00"))
    down = ServiceDown(event_id="d1", service="hotline", occurred_at=at("11:00"))
    engine = Engine(index)
    engine.ingest(created)
    engine.ingest(down)
    for event in (created, down):
        [out] = engine.ingest(_resent(event, occurred_at=event.occurred_at + timedelta(hours=2)))
        assert isinstance(out, ConflictingDuplicate)
    assert len(engine.ticket_book.tickets) == 1 and engine.service_book.status["hotline"] == (False, down.ts)


# --- events outside every contract's scope -------------------------------------------------------------------------

def series(metrics: Metrics) -> int:
    return sum(len(m.samples) for m in metrics.registry.collect())


def test_unknown_queues_get_no_state_and_no_series() -> None:
    s = StreamShell(Processor(terms()), Metrics(), idle_after=60)
    s.on_batch([msg(answered(at("10:01")), 0)], stored={}, wall_now=WALL)
    baseline = series(s.metrics)
    names = [f"x{i}" for i in range(500)]
    batch = [msg(e, i) for i, q in enumerate(names)
             for e in (answered(at("10:02"), queue=q), AgentReady(event_id=f"a-{q}", agent_id="a", queue=q,
                                                                  occurred_at=at("10:02")))]
    result = s.on_batch(batch, stored={}, wall_now=WALL)
    assert result.writes() == [] and result.sends == []
    assert [clock for engine in s.engines.values() for clock in engine.states] == ["calls:q1"]
    assert sample(s.metrics, "cckpi_events_unscoped_total", family="calls") == 1000
    assert series(s.metrics) - baseline <= 4  # the unscoped counter (and events by type), not one per name
    exposition = generate_latest(s.metrics.registry).decode()
    assert "x17" not in exposition


def test_unknown_queues_change_nothing_in_batch_either() -> None:
    engine = Engine(terms())
    outs = [o for q in ("q9", "Q1", "q1\u200b") for o in engine.ingest(answered(at("10:01"), queue=q))]
    assert [type(o) for o in outs] == [UnscopedEvent] * 3 and engine.states == {}


def test_every_low_volume_family_is_scoped() -> None:
    """Availability of a service no term measures, a survey of a queue the contracts do not name, tickets when no
    contract measures tickets: counted by family, no state written."""
    with_queues = HELPDESK.replace("scope: {", "scope: {queues: [hotline-q], ")
    shell = StreamShell(Processor(compile_terms([parse_contract(with_queues)])), Metrics(), idle_after=10)
    events = [ServiceDown(event_id=f"s{i}", service=f"svc{i}", occurred_at=at("10:00")) for i in range(50)]
    events += [ServiceUp(event_id="p1", service="portal", occurred_at=at("10:00"))]  # in scope, no term measures it
    events += [SurveySubmitted(event_id=f"v{i}", survey_id=f"v{i}", queue=f"other{i}", csat_points=1,
                               occurred_at=at("10:00")) for i in range(50)]
    counted = SurveySubmitted(event_id="v-ok", survey_id="v-ok", queue="hotline-q", csat_points=90,
                              occurred_at=at("10:00"))
    topic = {ServiceDown: topics.AVAILABILITY, ServiceUp: topics.AVAILABILITY, SurveySubmitted: topics.SURVEYS}
    msgs = [RawMessage(b"k", encode_event(e), topic[type(e)], 0, i) for i, e in enumerate([*events, counted])]
    result = shell.on_batch(msgs, {}, wall_now=WALL)
    writes, sends = [(k, v) for _s, k, v in result.writes()], result.sends
    assert sends == [] and not [k for k, _v in writes if k.startswith(b"service:")]
    assert sample(shell.out.metrics, "cckpi_events_unscoped_total", family="availability") == 51
    assert sample(shell.out.metrics, "cckpi_events_unscoped_total", family="surveys") == 50
    held = [clock for engine in shell.engines.values() for clock in engine.states]
    assert shell.engines and held == ["surveys"]

    calls_only = StreamShell(Processor(terms(CONTRACT)), Metrics(), idle_after=10)
    ticket = TicketCreated(event_id="tk", ticket_id="tk", category="x", occurred_at=at("10:00"))
    writes = calls_only.on_batch([RawMessage(b"tk", encode_event(ticket), topics.TICKETS, 0, 0)], {},
                                 wall_now=WALL).writes()
    assert writes == [] and sample(calls_only.out.metrics, "cckpi_events_unscoped_total", family="tickets") == 1


@pytest.mark.parametrize("raw", ["q\u200b1", "q\u202e1", "q\u2066x\u2069", "q\ufeff", "q\x00", "a\u2028b"])
def test_label_values_are_exported_without_invisible_or_control_characters(raw: str) -> None:
    metrics = Metrics()
    metrics.calls_waiting.labels(raw).set(1)
    metrics.calls_waiting.labels("普通 queue").set(2)
    text = generate_latest(metrics.registry).decode()
    assert raw not in text and all(c.isprintable() or c == "\n" for c in text)
    assert f'scope="{safe_label(raw).replace(chr(92), chr(92) * 2)}"' in text and 'scope="普通 queue"' in text
    assert safe_label(raw).startswith(raw[0]) and "\\u" in safe_label(raw)
