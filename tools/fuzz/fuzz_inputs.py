"""Coverage-guided fuzzing (atheris) of what the worker and the CLI read from outside: event bytes and contract files.

The property under test: any input either decodes or raises the one documented error type with a reason
(`InvalidEvent` for events, `ContractError` for contracts); anything else is a crash the fuzzer reports.

    .venv/bin/python tools/fuzz/fuzz_inputs.py events -atheris_runs=200000
    .venv/bin/python tools/fuzz/fuzz_inputs.py contracts -max_total_time=60
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from streams.contracts.loader import ContractError, parse_contract
    from streams.models.decode import InvalidEvent, decode_call, decode_event


def fuzz_events(data: bytes) -> None:
    """Event bytes: a valid event, or InvalidEvent with a non-empty reason and kind."""
    for decode in (decode_event, decode_call):
        try:
            decode(data)
        except InvalidEvent as exc:
            assert exc.reason and exc.kind, exc


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
