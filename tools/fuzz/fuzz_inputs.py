"""Coverage-guided fuzzing (atheris) of what the worker and the CLI read from outside: event bytes and contract files.

The property under test: any input either decodes or raises the one documented error type with a reason
(`InvalidEvent` for events, `ContractError` for contracts), and event bytes that decode conform to the published
schemas (schemas/events/v1); anything else is a crash the fuzzer reports.

    .venv/bin/python tools/fuzz/fuzz_inputs.py events -atheris_runs=200000
    .venv/bin/python tools/fuzz/fuzz_inputs.py contracts -max_total_time=60
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for the schema yardstick in tests/
from tests.event_schemas import schema_problem  # not instrumented: it judges, it is not under test

with atheris.instrument_imports():
    from streams.contracts.loader import ContractError, parse_contract
    from streams.models.decode import InvalidEvent, decode_call, decode_event


def fuzz_events(data: bytes) -> None:
    """Event bytes: a valid event that conforms to its published schema, or InvalidEvent with a reason and kind."""
    for decode in (decode_event, decode_call):
        try:
            decode(data)
        except InvalidEvent as exc:
            assert exc.reason and exc.kind, exc
        else:
            problem = schema_problem(data)
            assert problem is None, f"accepted but not schema-valid: {problem}"


def fuzz_contracts(data: bytes) -> None:
    """Contract text: a contract, or ContractError naming the file (line and field path where it has them)."""
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        parse_contract(text, "fuzz.yaml")
    except ContractError as exc:
        assert "fuzz.yaml" in str(exc), exc


def main() -> None:
    target = {"events": fuzz_events, "contracts": fuzz_contracts}[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
