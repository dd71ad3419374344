"""Users' mistakes, said the same way by every command: one line on stderr, exit 2, no traceback.

`CckpiGroup` (the `cckpi` command's group, see `main.py`) catches the errors below wherever a command raises them:
usage errors, unreadable files, bad periods, contract and adapter errors, records files that hold something
else, unreachable Kafka brokers and brokers that refuse the Kafka security settings. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import aiokafka.errors
import typer
from typer.core import TyperGroup

try:  # recent Typer versions carry their own copy of Click; older ones use Click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - depends on the Typer version installed
    from click import exceptions as click_errors  # type: ignore[no-redef]

from streams.adapters import AdapterError
from streams.contracts.loader import ContractError
from streams.kafka_io.connect import BrokerRefused
from streams.ledger import PeriodError
from streams.report.records_source import RecordsError

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake in a command's input, said in one line (e.g. `breaches.jsonl:3: not JSON`)."""


def is_kafka_error(exc: BaseException) -> bool:
    """An error of either Kafka client: aiokafka's, or kafka-python's (known by its class, so that library is not
    imported for this: it takes a noticeable part of a second)."""
    return isinstance(exc, aiokafka.errors.KafkaError) or any(
        cls.__name__ == "KafkaError" and cls.__module__ == "kafka.errors" for cls in type(exc).__mro__)


def describe(exc: BaseException) -> list[str]:
    """The lines that say what went wrong (one, but one per problem for a contract file), or [] if not a user
    error."""
    if isinstance(exc, ContractError):
        return [str(p) for p in exc.problems]
    if isinstance(exc, click_errors.ClickException):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        return [f"error: {exc.format_message()}{hint}"]
    if isinstance(exc, UserError | PeriodError | AdapterError | RecordsError | BrokerRefused):
        return [f"error: {exc}"]
    if is_kafka_error(exc):
        return [f"error: Kafka broker not reachable or failing: {exc!r}"]
    if isinstance(exc, OSError):
        if exc.filename is not None and exc.strerror:
            return [f"error: {exc.filename}: {exc.strerror}"]
        return [f"error: {exc.strerror or exc!r}"]
    return []


def one_line(text: str) -> str:
    """Newlines and runs of spaces folded, so a message stays on one line."""
    return " ".join(text.split())


def fail(lines: Sequence[str]) -> int:
    """Print the error lines (red on a terminal) and return the user-error exit code."""
    for line in lines:
        typer.secho(one_line(line), fg="red", err=True)
    return USER_ERROR_EXIT


class CckpiGroup(TyperGroup):
    """The `cckpi` group: runs the command, and turns a user error raised anywhere in it into `fail`."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """Click's entry point (also what `CliRunner` calls), with the errors above said in one line."""
        try:
            result = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
            code = result if isinstance(result, int) else 0
        except click_errors.NoArgsIsHelpError as exc:  # the help was shown: nothing more to say
            code = exc.exit_code
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 1
        except Exception as exc:
            lines = describe(exc)
            if not lines:
                raise
            code = fail(lines)
        if not standalone_mode:
            return code
        sys.exit(code)
