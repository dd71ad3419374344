"""`cckpi schema`: publish the versioned JSON Schemas of events and contract files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from streams.contracts.model import Contract
from streams.models.events import SCHEMA_VERSION
from streams.models.schema import event_schemas

app = typer.Typer(help="Publish JSON Schemas for producers and editors.", no_args_is_help=True,
                  rich_markup_mode="markdown")


@app.command("events")
def events(
    out: Annotated[Path | None, typer.Option(help="Write one file per event type into this directory.")] = None,
) -> None:
    """Print (or write) the JSON Schema of every event type.

    **Examples**

    - `cckpi schema events` prints all schemas as one JSON object keyed by event type.
    - `cckpi schema events --out schemas/` writes `schemas/v1/call.answered.json` and the others.
    """
    schemas = event_schemas()
    if out is None:
        typer.echo(json.dumps(schemas, indent=2, ensure_ascii=False))
        return
    folder = out / f"v{SCHEMA_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (folder / f"{name}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(schemas)} schemas to {folder}")


def contract_schema() -> dict[str, object]:
    """JSON Schema of contract files, with an `$id` for editors (yaml-language-server)."""
    schema = Contract.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://cckpi.dev/schemas/contract.schema.json"
    return schema


@app.command("contract")
def contract(
    out: Annotated[Path | None, typer.Option(help="Write the schema to this file instead of stdout.")] = None,
) -> None:
    """Print (or write) the JSON Schema of contract files, for editor completion and validation.

    **Examples**

    - `cckpi schema contract > contract.schema.json`
    - `cckpi schema contract --out schemas/contract.schema.json`
    """
    text = json.dumps(contract_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command("outputs")
def outputs(
    out: Annotated[Path | None, typer.Option(help="Write one file per record type into this directory.")] = None,
) -> None:
    """Print (or write) the versioned JSON Schemas of the output records: `cckpi.kpi-windows`, `cckpi.breaches`
    (window lifecycle and ticket records) and `cckpi.escalations`.

    **Examples**

    - `cckpi schema outputs`
    - `cckpi schema outputs --out schemas/outputs`
    """
    from streams.sinks.schemas import output_schemas

    schemas = output_schemas()
    if out is None:
        typer.echo(json.dumps(schemas, indent=2, ensure_ascii=False))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (out / f"{name}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(schemas)} schemas to {out}")
