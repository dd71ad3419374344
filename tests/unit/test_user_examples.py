"""The user examples in `examples/`: the minimal contract validates, the producer routes every event type as the
worker expects and sends events the strict decoder accepts, the consumer keeps the highest revision per key."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from typer.testing import CliRunner

from streams.cli.contracts import app as contracts_app
from streams.contracts import load_contract
from streams.core import WindowResult, compile_terms, compute
from streams.models import decode_event, routing_key
from streams.models.events import EVENT_TYPES
from streams.models.families import family_of

EXAMPLES = Path(__file__).parents[2] / "examples"
MINIMAL = EXAMPLES / "minimal.yaml"


def example(name: str) -> ModuleType:
    """Import `examples/<name>.py` (the folder is not a package: users run the files as scripts)."""
    spec = importlib.util.spec_from_file_location(f"cckpi_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_minimal_contract_validates() -> None:
    result = CliRunner().invoke(contracts_app, [str(MINIMAL)])  # its one command, validate
    assert result.exit_code == 0, result.output
    contract = load_contract(MINIMAL)
    assert contract.id == "minimal" and contract.scope.queues == [example("producer").QUEUE]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
@pytest.mark.parametrize("survey_queue", ["q1", None])
def test_the_producer_routes_each_event_type_like_the_worker(event_type: str, survey_queue: str | None) -> None:
    fields = {"type": event_type, "queue": survey_queue if event_type.startswith("survey.") else "q1",
              "ticket_id": "t1", "survey_id": "s1", "service": "svc1"}
    event = EVENT_TYPES[event_type].model_construct(None, **fields)
    topic, key = example("producer").route(fields)
    assert (topic, key.decode()) == (family_of(event).topic, routing_key(event))


def test_the_producer_refuses_an_unknown_type() -> None:
    with pytest.raises(ValueError, match=r"unknown event type 'chat\.started'"):
        example("producer").route({"type": "chat.started"})


def test_the_sample_decodes_strictly_and_breaches_then_revises_one_window() -> None:
    producer = example("producer")
    events = [decode_event(encode_event_dict(e)) for e in producer.sample()]
    windows = [r for r in compute(events, compile_terms([load_contract(MINIMAL)]))
               if isinstance(r, WindowResult) and r.closed_by != "end_of_input"]
    latest = {r.key: r for r in sorted(windows, key=lambda r: r.revision)}
    assert {(r.term, r.window_start[11:16], r.status, r.revision) for r in latest.values()} == {
        (term, start, status, revision) for term in ("answer-rate-15m", "service-level-20s-15m")
        for start, status, revision in (("09:00", "met", 0), ("09:15", "breached", 1), ("09:30", "met", 0))}
    assert all(routing_key(e) == "hotline" for e in events)


def encode_event_dict(event: dict) -> bytes:
    """An event as the producer puts it on the wire."""
    return json.dumps(event, ensure_ascii=False).encode()


def message(key: str, revision: int, contract: str = "minimal") -> SimpleNamespace:
    return SimpleNamespace(key=key.encode(), value=f'{{"contract": "{contract}", "revision": {revision}}}'.encode())


def test_the_consumer_keeps_the_highest_revision_whatever_the_order() -> None:
    consumer = example("consumer")
    latest: dict = {}
    changed = consumer.take(latest, [message("a", 0), message("a", 2), message("a", 1), message("a", 2),
                                     message("b", 0, "other"), SimpleNamespace(key=b"c", value=None)], "minimal")
    assert [r["revision"] for r in changed] == [0, 2]
    assert latest == {"a": {"contract": "minimal", "revision": 2}}
