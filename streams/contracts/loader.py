"""Loading contract files, with errors that point at file, line and field path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from streams.contracts.checks import check_contract
from streams.contracts.model import Contract

_UNION_TAGS = {"str", "RollingWindow"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a contract file."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ContractError(ValueError):
    """A contract file that cannot be used; lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every field path in a YAML document to its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*path, key.value)] = key.start_mark.line + 1
            lines.update({k: v for k, v in _line_index(value, (*path, key.value)).items() if k != (*path, key.value)})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*path, i)))
    return lines


def _locate(lines: dict[tuple[Any, ...], int], loc: Iterable[Any]) -> int:
    path = tuple(loc)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def parse_contract(text: str, file: str = "<contract>") -> Contract:
    """Validate contract YAML text; raise ContractError naming file, line and field path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ContractError([Problem(file, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict) or node is None:
        raise ContractError([Problem(file, 1, "", "a contract file must be a YAML mapping")])
    lines = _line_index(node)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError([_problem(file, lines, err["loc"], err["msg"].removeprefix("Value error, "))
                             for err in exc.errors(include_url=False)]) from None
    findings = check_contract(contract)
    if findings:
        raise ContractError([_problem(file, lines, path, message) for path, message in findings])
    return contract


def _problem(file: str, lines: dict[tuple[Any, ...], int], loc: Iterable[Any], message: str) -> Problem:
    """A problem at a pydantic-style location (tagged-union and function steps are not field names)."""
    path = [p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in _UNION_TAGS))]
    text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
    return Problem(file, _locate(lines, path), text, message)


def load_contract(path: str | Path) -> Contract:
    """Read and validate one contract file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError([Problem(str(file), 0, "", f"cannot read: {exc.strerror}")]) from None
    return parse_contract(text, str(file))


def load_contracts(paths: Iterable[str | Path]) -> list[Contract]:
    """Read several contract files, reporting the problems of all of them at once."""
    contracts, problems = [], []
    for path in paths:
        try:
            contracts.append(load_contract(path))
        except ContractError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContractError(problems)
    ids = [c.id for c in contracts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ContractError([Problem("<contracts>", 0, "id", f"contract id {d!r} is used by two files") for d in dupes])
    return contracts
