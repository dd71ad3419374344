"""Loading contract files, with errors that point at file, line and field path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from streams.contracts.checks import check_contract
from streams.contracts.model import Contract

_UNION_TAGS = {"str", "RollingWindow", "RollingSpan"}
MAX_FILE_BYTES = 1 << 20
"""A contract file is a few kilobytes; anything past 1 MiB is refused unread (no document needs it)."""
MAX_ALIAS_NODES = 10_000
"""Aliases may add at most this many nodes to the document (a billion-laughs file adds billions)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted (a contract needs about six levels)."""
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (several times faster), else the pure-Python one; both are safe loaders."""
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


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


def _refuse_bombs(text: str, file: str) -> None:
    """Refuse, from the parser's events alone (nothing is expanded), a document that nests deeper than MAX_DEPTH
    or whose aliases would add more than MAX_ALIAS_NODES nodes, or refer to an anchor still open (a cycle)."""
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for, once its node is complete
    open_nodes: list[tuple[str | None, int]] = []  # collections being read: (anchor, nodes so far)
    added = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPEN):
            if len(open_nodes) >= MAX_DEPTH:
                raise _refused(file, event, f"nested deeper than {MAX_DEPTH} levels")
            open_nodes.append((event.anchor, 1))
            continue
        if isinstance(event, _CLOSE):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise _refused(file, event, f"alias *{event.anchor} refers to an anchor that is not complete here "
                                            "(a recursive or undefined alias)")
            size = sizes[event.anchor]
            added += size
            if added > MAX_ALIAS_NODES:
                raise _refused(file, event, f"aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes "
                                            "(an alias bomb?): write the values out")
            anchor = None
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_nodes:
            parent, count = open_nodes[-1]
            open_nodes[-1] = (parent, count + size)


def _refused(file: str, event: yaml.Event, why: str) -> ContractError:
    """A refusal at the event's line."""
    mark = event.start_mark
    return ContractError([Problem(file, mark.line + 1 if mark else 1, "", f"refused: {why}")])


def _compose(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for lines) and its data, parsed once, after `_refuse_bombs` let it through."""
    if len(text) > MAX_FILE_BYTES:  # characters: at most the bytes of the UTF-8 file
        raise ContractError([Problem(file, 1, "", f"refused: larger than {MAX_FILE_BYTES >> 20} MiB")])
    with contextlib.suppress(yaml.YAMLError):  # a syntax error is reported with its line by the parse below
        _refuse_bombs(text, file)
    try:
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            return node, None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ContractError([Problem(file, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more digits than Python converts
        raise ContractError([Problem(file, 1, "", f"not a usable YAML document: {exc}")]) from None


def parse_contract(text: str, file: str = "<contract>") -> Contract:
    """Validate contract YAML text; raise ContractError naming file, line and field path."""
    node, data = _compose(text, file)
    if not isinstance(data, dict) or node is None:
        raise ContractError([Problem(file, 1, "", "a contract file must be a YAML mapping")])
    lines = _line_index(node)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise ContractError([_problem(file, lines, err["loc"], err["msg"].removeprefix("Value error, "))
                             for err in errors if not _other_branch(err, errors)]) from None
    findings = check_contract(contract)
    if findings:
        raise ContractError([_problem(file, lines, path, message) for path, message in findings])
    contract.note_places({str(path[0]): f"{file}:{line}" for path, line in lines.items() if len(path) == 1})
    return contract


def _other_branch(err: Any, errors: Sequence[Any]) -> bool:
    """True for a union branch refusing a value of another type (`{rolling: 7x}` is no string, `weekly` no
    mapping) when another branch of the same field says what is wrong with it."""
    loc = err["loc"]
    tags = [i for i, p in enumerate(loc) if isinstance(p, str) and (p in _UNION_TAGS or p.startswith("literal["))]
    if not tags or not (err["type"] == "model_type" or (
            err["type"] in ("string_type", "literal_error") and not isinstance(err["input"], str))):
        return False
    field = loc[:tags[-1]]
    return any(o is not err and o["loc"][:len(field)] == field and o["loc"] != loc for o in errors)


def _problem(file: str, lines: dict[tuple[Any, ...], int], loc: Iterable[Any], message: str) -> Problem:
    """A problem at a pydantic-style location (tagged-union and function steps are not field names)."""
    path = [p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in _UNION_TAGS))]
    text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
    return Problem(file, _locate(lines, path), text, message)


def load_contract(path: str | Path) -> Contract:
    """Read and validate one contract file."""
    file = Path(path)
    try:
        with file.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # never more: a huge file (or a device) is refused unread
    except OSError as exc:
        raise ContractError([Problem(str(file), 1, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ContractError([Problem(str(file), 1, "", f"refused: larger than {MAX_FILE_BYTES >> 20} MiB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ContractError([Problem(str(file), line, "", "not UTF-8 text")]) from None
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
