"""Survey terms as contracts mean them: the share of satisfied surveys on a declared scale, scores outside a term's
scale dead-lettered (never counted), and terms that count only some surveys (complaint handling, a channel); the
same in `cckpi compute` and in the stream."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.contracts import ContractError, load_contract, parse_contract
from streams.core import WindowResult, compile_terms, compute
from streams.core.records import Output, RejectedEvent
from streams.kafka_io import topics
from streams.models import SurveySubmitted, decode_event, encode_event, event_schemas
from streams.report import build_statement, parse_period
from streams.report.html_page import render_html
from streams.report.statement import Published
from tests.helpers import at
from tests.unit.test_low_volume import messages, run, shell_of

ROOT = Path(__file__).parents[2]
TELECOM = ROOT / "contracts" / "examples" / "telecom-outsourcing.yaml"
HEAD = """
id: sv
name: surveys
timezone: Asia/Shanghai
scope: {queues: [q1], categories: [enquiry, fault, complaint]}
terms:
"""


def contract(*terms: str) -> str:
    """A contract of the given survey terms (one flow mapping each)."""
    return HEAD + "".join(f"  - {t}\n" for t in terms)


def surveys(scores: Sequence[float | None], **fields: Any) -> list[SurveySubmitted]:
    """One survey per score, all on Monday 2026-11-23 10:00 (Asia/Shanghai), ids s0, s1, ..."""
    return [SurveySubmitted(event_id=f"e{i}", occurred_at=at("10:00"), survey_id=f"s{i}", csat_points=p, **fields)
            for i, p in enumerate(scores)]


def outputs(text: str, events: list[SurveySubmitted]) -> list[Output]:
    return compute(events, compile_terms([parse_contract(text)]))


def windows(out: list[Output], term: str) -> list[WindowResult]:
    return [o for o in out if isinstance(o, WindowResult) and o.term == term]


def rejected(out: list[Output]) -> list[RejectedEvent]:
    return [o for o in out if isinstance(o, RejectedEvent)]


# --------------------------------------------------------------------------- share_satisfied


def test_share_satisfied_counts_scores_at_or_above_the_declared_score() -> None:
    # 1-5 scale, satisfied = 4 or more: 5, 4, 4, 5 and 4.0 of 10 surveys -> 5/10 (3.5 is not satisfied)
    text = contract("{id: sat, kpi: share_satisfied, scale: {min: 1, max: 5}, satisfied_at: 4, threshold: 0.8, "
                    "window: month}")
    out = outputs(text, surveys([5, 4, 3, 4, 2, 1, 5, 3.5, 4.0, 3]))
    [month] = windows(out, "sat")
    assert (month.numerator, month.denominator, month.value, month.status) == (5, 10, 0.5, "breached")
    assert (month.kpi, month.unit, month.window_start) == ("share_satisfied", "ratio", "2026-11-01T00:00:00+08:00")
    assert not rejected(out)


def test_share_satisfied_defaults_to_the_one_to_five_scale() -> None:
    # no scale given: 1..5 (the registry's default); 0 and 5.5 are outside it, 1, 4 and 5 count: 2 of 3 satisfied
    text = contract("{id: sat, kpi: share_satisfied, satisfied_at: 4, threshold: 0.5, window: month}")
    out = outputs(text, surveys([0, 1, 4, 5, 5.5]))
    [month] = windows(out, "sat")
    assert (month.numerator, month.denominator, month.status) == (2, 3, "met")
    assert [(r.event_id, r.kind, r.cause) for r in rejected(out)] == [("e0", "out_of_scale", "sv/sat"),
                                                                       ("e4", "out_of_scale", "sv/sat")]
    assert rejected(out)[0].reason == ("survey 's0' scored csat_points 0, outside the scale 1..5 of term sv/sat: "
                                       "not counted for it")


def test_surveys_without_points_count_for_no_points_term() -> None:
    text = contract("{id: sat, kpi: share_satisfied, satisfied_at: 4, threshold: 0.5, window: month}")
    out = outputs(text, [*surveys([5]), SurveySubmitted(event_id="n", occurred_at=at("10:00"), survey_id="n",
                                                         nps_score=9)])
    [month] = windows(out, "sat")
    assert (month.numerator, month.denominator) == (1, 1) and not rejected(out)


# --------------------------------------------------------------------------- the scale


def test_two_hundred_surveys_scored_two_do_not_pass_a_zero_one_coded_term() -> None:
    # the case: a 0/1-coded 90% term (1 = satisfied) fed 200 surveys of a 1-5 survey, all scored 2. Before,
    # csat_average with scale_max 1 averaged them to 2.0 >= 0.9: "met". Now every one is out of scale: no window.
    text = contract("{id: avg01, kpi: csat_average, scale_max: 1, threshold: 0.9, window: month}",
                    "{id: share01, kpi: share_satisfied, scale: {min: 0, max: 1}, satisfied_at: 1, threshold: 0.9, "
                    "window: month}")
    out = outputs(text, surveys([2] * 200))
    assert not [o for o in out if isinstance(o, WindowResult)]
    found = rejected(out)
    assert len(found) == 400 and {r.kind for r in found} == {"out_of_scale"}
    assert {r.cause for r in found} == {"sv/avg01", "sv/share01"}
    assert "outside the scale 0..1 of term sv/avg01" in found[0].reason


def test_in_scale_surveys_still_count_beside_out_of_scale_ones() -> None:
    # 0/1 coded: 1, 1, 0, 1 in scale (3/4 = 0.75, breached at 0.9); the two 2s are left out and reported
    text = contract("{id: avg01, kpi: csat_average, scale_max: 1, threshold: 0.9, window: month}")
    out = outputs(text, surveys([1, 2, 1, 0, 2, 1]))
    [month] = windows(out, "avg01")
    assert (month.numerator, month.denominator, month.value, month.status) == (3, 4, 0.75, "breached")
    assert [r.event_id for r in rejected(out)] == ["e1", "e4"]


def test_an_out_of_scale_survey_sent_twice_is_reported_once() -> None:
    text = contract("{id: avg01, kpi: csat_average, scale_max: 1, threshold: 0.9, window: month}")
    [bad] = surveys([2])
    out = outputs(text, [bad, bad])
    assert [r.event_id for r in rejected(out)] == ["e0"] and not windows(out, "avg01")


def test_a_survey_is_judged_against_each_terms_own_scale() -> None:
    # 1-5 term and 0-100 term: 50 is out of the first's scale only, 3 in both, 120 in neither
    text = contract("{id: five, kpi: csat_average, scale: {min: 1, max: 5}, threshold: 3, window: month}",
                    "{id: hundred, kpi: csat_average, scale_max: 100, threshold: 60, window: month}")
    out = outputs(text, surveys([50, 3, 120]))
    [five] = windows(out, "five")
    [hundred] = windows(out, "hundred")
    assert (five.numerator, five.denominator) == (3, 1)
    assert (hundred.numerator, hundred.denominator) == (53, 2)
    assert [(r.event_id, r.cause) for r in rejected(out)] == [("e0", "sv/five"), ("e2", "sv/five"),
                                                              ("e2", "sv/hundred")]


def test_csat_average_without_a_scale_counts_any_points() -> None:
    # no scale declared and no default for csat_average: every score the event schema takes counts
    out = outputs(contract("{id: avg, kpi: csat_average, threshold: 3, window: month}"), surveys([0, 7, 500]))
    [month] = windows(out, "avg")
    assert (month.numerator, month.denominator) == (507, 3) and not rejected(out)


# --------------------------------------------------------------------------- filters


def test_a_term_counts_only_the_surveys_its_categories_and_channels_name() -> None:
    text = contract("{id: complaints, kpi: share_satisfied, satisfied_at: 4, categories: [complaint], threshold: 0.5, "
                    "window: month}",
                    "{id: phone, kpi: share_satisfied, satisfied_at: 4, channels: [phone], threshold: 0.5, "
                    "window: month}",
                    "{id: all, kpi: share_satisfied, satisfied_at: 4, threshold: 0.5, window: month}")
    events = [*surveys([5, 2], category="complaint", channel="phone"), *surveys([1], category="complaint"),
              *surveys([4, 4], category="enquiry", channel="phone"), *surveys([3])]
    events = [e.model_copy(update={"event_id": f"x{i}"}) for i, e in enumerate(events)]
    out = outputs(text, events)
    counted = {w.term: (w.numerator, w.denominator) for w in out if isinstance(w, WindowResult)}
    # complaints: 5, 2, 1 -> 1/3; phone: 5, 2, 4, 4 -> 3/4; all: 5, 2, 1, 4, 4, 3 -> 3/6
    assert counted == {"complaints": (1, 3), "phone": (3, 4), "all": (3, 6)}


def test_a_filtered_out_survey_is_not_reported_out_of_scale() -> None:
    text = contract("{id: complaints, kpi: share_satisfied, satisfied_at: 4, categories: [complaint], threshold: 0.5, "
                    "window: month}")
    out = outputs(text, surveys([9], category="enquiry"))
    assert not rejected(out) and not windows(out, "complaints")


def test_nps_terms_take_the_filters() -> None:
    text = contract("{id: nps, kpi: nps, channels: [chat], threshold: 0, window: month}")
    events = [SurveySubmitted(event_id=f"n{i}", occurred_at=at("10:00"), survey_id=f"n{i}", nps_score=n, channel=c)
              for i, (n, c) in enumerate([(10, "chat"), (3, "phone"), (8, "chat")])]
    [month] = windows(outputs(text, events), "nps")
    assert (month.numerator, month.denominator) == (100, 2)


def test_the_survey_schema_carries_category_and_channel_as_optional_fields() -> None:
    schema = event_schemas()["survey.submitted"]
    assert {"category", "channel"} <= set(schema["properties"]) and not {"category", "channel"} & set(
        schema.get("required", []))
    assert schema["$id"].endswith("/v1/survey.submitted.json")
    line = (b'{"schema_version": 1, "event_id": "e", "type": "survey.submitted", "occurred_at": '
            b'"2026-11-23T10:00:00+08:00", "survey_id": "s", "csat_points": 4, "category": "complaint", '
            b'"channel": "email"}')
    event = decode_event(line)
    assert isinstance(event, SurveySubmitted) and (event.category, event.channel) == ("complaint", "email")
    published = orjson.loads((ROOT / "schemas" / "events" / "v1" / "survey.submitted.json").read_bytes())
    assert published == schema, "run: cckpi schema events --out schemas/events"


# --------------------------------------------------------------------------- contract checks


@pytest.mark.parametrize(("term", "problem"), [
    ("{id: a, kpi: share_satisfied, threshold: 0.9, window: month}", "share_satisfied needs satisfied_at"),
    ("{id: a, kpi: share_satisfied, satisfied_at: 6, threshold: 0.9, window: month}",
     "terms[0].satisfied_at: 6 is outside the scale 1..5"),
    ("{id: a, kpi: share_satisfied, scale: {min: 0, max: 1}, satisfied_at: 4, threshold: 0.9, window: month}",
     "terms[0].satisfied_at: 4 is outside the scale 0..1"),
    ("{id: a, kpi: share_satisfied, satisfied_at: 4, threshold: 90, window: month}", "write 0.9, not 90"),
    ("{id: a, kpi: share_satisfied, satisfied_at: 4, scale: {min: 5, max: 1}, threshold: 0.9, window: month}",
     "max 1 must be above min 5"),
    ("{id: a, kpi: csat_average, scale: {min: 1, max: 5}, scale_max: 5, threshold: 4, window: month}",
     "terms[0].scale_max: give scale or scale_max, not both"),
    ("{id: a, kpi: csat_average, scale: {min: 1, max: 5}, threshold: 80, window: month}",
     "terms[0].threshold: 80 is outside the scale 1..5"),
    ("{id: a, kpi: csat_average, scale_max: 100, threshold: 80, warning: 120, window: month}",
     "terms[0].warning: 120 is outside the scale 0..100"),
    ("{id: a, kpi: nps, scale: {min: 0, max: 10}, threshold: 20, window: month}", "scale does not apply to nps"),
    ("{id: a, kpi: answer_rate, satisfied_at: 4, threshold: 0.9, window: month}",
     "satisfied_at does not apply to answer_rate"),
    ("{id: a, kpi: share_satisfied, satisfied_at: 4, categories: [billing], threshold: 0.9, window: month}",
     "billing not in the contract scope's categories"),
])
def test_survey_term_mistakes_are_named_at_their_field(term: str, problem: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_contract(contract(term))
    assert any(problem in str(p) for p in info.value.problems), [str(p) for p in info.value.problems]


def test_terms_counting_different_surveys_do_not_overlap() -> None:
    base = "kpi: share_satisfied, satisfied_at: 4, threshold: 0.9, window: month"
    parse_contract(contract(f"{{id: a, {base}, categories: [complaint]}}", f"{{id: b, {base}, categories: [fault]}}",
                            f"{{id: c, {base}}}"))
    with pytest.raises(ContractError, match="overlaps"):
        parse_contract(contract(f"{{id: a, {base}, categories: [complaint]}}",
                                f"{{id: b, {base}, categories: [complaint]}}"))


# --------------------------------------------------------------------------- the seed 003 example


def test_the_telecom_example_judges_complaint_satisfaction_as_a_share_on_one_to_five() -> None:
    telecom = load_contract(TELECOM)
    [term] = [t for t in telecom.terms if t.id == "satisfaction-month"]
    assert (term.kpi, term.points_scale, term.satisfied_at, term.categories, term.threshold) == (
        "share_satisfied", (1, 5), 4, ["complaint"], 0.9)
    # 200 complaint surveys, 185 scored 4 or 5 (92.5%: met), 15 scored 3; 50 enquiry surveys scored 1 (not
    # counted: complaint handling only); 10 scored 0 (out of the 1-5 scale: reported, not counted)
    scores = [5] * 100 + [4] * 85 + [3] * 15
    events = [*surveys(scores, category="complaint", queue="complaint"), *surveys([1] * 50, category="enquiry"),
              *surveys([0] * 10, category="complaint")]
    events = [e.model_copy(update={"event_id": f"t{i}", "occurred_at": at("10:00").replace(month=10)})
              for i, e in enumerate(events)]
    out = compute(events, compile_terms([telecom]))
    [october] = windows(out, "satisfaction-month")
    assert (october.numerator, october.denominator, october.value, october.status) == (185, 200, 0.925, "met")
    assert len(rejected(out)) == 10
    records = [Published(o.to_dict()) for o in out if isinstance(o, WindowResult)]
    page = render_html(build_statement(telecom, parse_period("2026-10", telecom.timezone), records, [], []), "cckpi")
    assert "用户满意率" in page and "92.50%" in page


# --------------------------------------------------------------------------- batch = stream


BATCH_STREAM = contract(
    "{id: sat, kpi: share_satisfied, scale: {min: 1, max: 5}, satisfied_at: 4, categories: [complaint], "
    "threshold: 0.8, window: day}",
    "{id: avg01, kpi: csat_average, scale_max: 1, threshold: 0.9, window: day}")


def batch_stream_events() -> list[SurveySubmitted]:
    """Two days of complaint and enquiry surveys, some outside one term's scale or both."""
    rows = [(5, "complaint"), (2, "complaint"), (1, "complaint"), (0, "enquiry"), (4, "complaint"), (9, "complaint")]
    day1 = [SurveySubmitted(event_id=f"a{i}", occurred_at=at("09:00"), survey_id=f"a{i}", csat_points=p, category=c)
            for i, (p, c) in enumerate(rows)]
    day2 = [e.model_copy(update={"event_id": f"b{i}", "survey_id": f"b{i}",
                                 "occurred_at": at("09:00").replace(day=24)}) for i, e in enumerate(day1)]
    return day1 + day2


def test_compute_and_the_stream_give_the_same_windows_and_dead_letters(tmp_path: Path) -> None:
    events = batch_stream_events()
    (tmp_path / "c.yaml").write_text(BATCH_STREAM)
    (tmp_path / "e.jsonl").write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    result = CliRunner().invoke(app, ["compute", "-c", str(tmp_path / "c.yaml"), "--events", str(tmp_path / "e.jsonl")])
    assert result.exit_code == 0, result.output
    batch = [orjson.loads(line) for line in result.stdout.splitlines()]
    # per day: sat counts complaints 5, 2, 1, 4 (9 is outside 1..5) -> 2/4; avg01 counts 1 and 0 -> 1/2
    assert sorted((w["term"], w["window_start"][:10], w["numerator"], w["denominator"]) for w in batch) == [
        ("avg01", "2026-11-23", 1, 2), ("avg01", "2026-11-24", 1, 2),
        ("sat", "2026-11-23", 2, 4), ("sat", "2026-11-24", 2, 4)]
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 2 and all("out_of_scale" in line for line in skipped)
    assert any(line.startswith("skipped 8 events") and "sv/avg01" in line for line in skipped)  # 5, 2, 4, 9 twice
    assert any(line.startswith("skipped 2 events") and "sv/sat" in line for line in skipped)  # 9 twice

    terms = compile_terms([parse_contract(BATCH_STREAM)])
    in_batch = compute(events, terms)
    table: dict[bytes, bytes] = {}
    shell = shell_of(terms)
    streamed = run(shell, table, messages(events), days=3)
    tick = shell.on_tick((topics.SURVEYS, 0), table.items(), wall_now=at("12:00").timestamp() + 6 * 86400)
    streamed += [{**orjson.loads(v), "out": t} for t, _k, v in tick.sends]  # the idle clock closes the second day
    assert all(m.topic == topics.SURVEYS for m in messages(events))
    windows_streamed = sorted((r["key"], r["numerator"], r["denominator"], r["status"]) for r in streamed
                              if r["out"] == topics.KPI_WINDOWS)
    assert windows_streamed == sorted((w["key"], w["numerator"], w["denominator"], w["status"]) for w in batch)
    dead = [(r["kind"], r["reason"]) for r in streamed if r["out"] == topics.DEAD_LETTER]
    assert dead == [(r.kind, r.reason) for r in rejected(in_batch)] and len(dead) == 10
    assert shell.metrics.registry.get_sample_value("cckpi_dead_letters_total", {"reason": "out_of_scale"}) == 10
    survey_ids = {orjson.loads(r["value"])["survey_id"] for r in streamed if r["out"] == topics.DEAD_LETTER}
    assert survey_ids == {"a0", "a1", "a4", "a5", "b0", "b1", "b4", "b5"}  # a2, a3 in avg01's 0..1; a3 no complaint
