"""The yardstick the event decoder is held to: do raw bytes conform to the published schemas (schemas/events/v1)?

Judged independently of the decoder: RFC 8259 JSON parsed by the standard library (no NaN or Infinity, finite
numbers, valid UTF-8, no lone surrogates), then JSON Schema 2020-12 validation with `date-time` checked as RFC 3339
(jsonschema checks that format only with an optional package, so it is implemented here from the RFC's grammar).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).parents[1] / "schemas" / "events" / "v1"
"""The published event schemas, one file per event type."""

_RFC3339 = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
                      r"([Zz]|[+-]([0-9]{2}):([0-9]{2}))")


def is_rfc3339(text: object) -> bool:
    """RFC 3339 section 5.6 `date-time`: full date, full time (leap second allowed), offset; a real calendar day."""
    if not isinstance(text, str):
        return True  # formats apply to strings only
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if hour > 23 or minute > 59 or second > 60 or int(match.group(9) or 0) > 23 or int(match.group(10) or 0) > 59:
        return False
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return True


class NotJson(ValueError):
    """The bytes are not RFC 8259 JSON (as the standard library reads it, minus its extensions)."""


def _no_constant(token: str) -> Any:
    raise NotJson(f"{token} is not JSON")


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise NotJson(f"{token} is out of range")
    return value


def strict_json(raw: bytes | str) -> Any:
    """Parse RFC 8259 JSON, rejecting what `json` accepts beyond it: NaN/Infinity, overflowing numbers, lone
    surrogates; bytes must be UTF-8 without a byte order mark."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        doc = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        json.dumps(doc, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be encoded
    except (UnicodeError, json.JSONDecodeError, RecursionError) as exc:
        raise NotJson(str(exc)) from None
    return doc


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """The published schemas keyed by event type."""
    return {path.name.removesuffix(".json"): json.loads(path.read_text()) for path in sorted(SCHEMA_DIR.iterdir())}


@cache
def _validator(event_type: str) -> Draft202012Validator:
    checker = FormatChecker()
    checker.checks("date-time")(is_rfc3339)
    return Draft202012Validator(schemas()[event_type], format_checker=checker)


def schema_problem(raw: bytes | str) -> str | None:
    """None when `raw` is JSON that conforms to the published schema of its `type`, else why it does not."""
    try:
        doc = strict_json(raw)
    except NotJson as exc:
        return f"not JSON: {exc}"
    if not isinstance(doc, dict):
        return "not an object"
    if not isinstance(doc.get("type"), str) or doc["type"] not in schemas():
        return f"no published schema for type {doc.get('type')!r}"
    error = next(iter(_validator(doc["type"]).iter_errors(doc)), None)
    return None if error is None else f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
