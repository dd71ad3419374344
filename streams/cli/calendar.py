"""`cckpi calendar`: SLA deadlines and working time from a contract's business calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from streams.calendar import BusinessCalendar, CalendarSpec, CalendarUnknownDay
from streams.contracts.loader import ContractError, load_contract

app = typer.Typer(
    help="Business calendar of a contract: SLA deadlines and working time (working hours, holidays, 调休).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

ContractOption = Annotated[
    Path,
    typer.Option(
        "--contract",
        "-c",
        help="Contract YAML file; its `calendar:` section is used.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


def _load_calendar(path: Path) -> CalendarSpec:
    """The validated `calendar:` section of a contract file (the whole contract is validated)."""
    try:
        contract = load_contract(path)
    except ContractError as error:
        raise typer.BadParameter(f"invalid contract:\n{error}", param_hint="--contract") from None
    if contract.calendar is None:
        raise typer.BadParameter(f"{path} has no `calendar:` section", param_hint="--contract")
    return contract.calendar


def _parse_instant(text: str, option: str, calendar: BusinessCalendar) -> datetime:
    """ISO 8601 instant; without an offset it is read as local time of the calendar's timezone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date-time such as 2026-09-30T16:00+08:00", param_hint=option
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=calendar.tz)


def _fail(error: CalendarUnknownDay | ValueError) -> typer.Exit:
    """Report a calendar error on stderr; the caller raises the returned exit (code 1)."""
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


@app.command()
def deadline(
    contract: ContractOption,
    start: Annotated[str, typer.Option(help="Start instant, ISO 8601; no offset = calendar-local time.")],
    working_minutes: Annotated[float | None, typer.Option(min=0, help="Working minutes to add.")] = None,
    working_hours: Annotated[float | None, typer.Option(min=0, help="Working hours to add.")] = None,
    working_days: Annotated[int | None, typer.Option(min=0, help="Working days to add.")] = None,
) -> None:
    """Print the SLA deadline: **start** plus working minutes, hours or days, as ISO 8601 with offset.

    Working minutes and hours are consumed across working intervals; the deadline is the earliest instant
    with that much working time since start. **N working days** = the same local time of day on the N-th
    next working day, clamped into that day's working hours (a start outside working hours counts from the
    previous closing time). Dates the calendar cannot classify are an error (exit code 1).

    **Examples**

    ```
    cckpi calendar deadline -c contract.yaml --start 2026-09-30T17:55+08:00 --working-minutes 15
    2026-10-08T09:10:00+08:00

    cckpi calendar deadline -c contract.yaml --start 2026-09-30T16:00+08:00 --working-days 3
    2026-10-10T16:00:00+08:00
    ```
    """
    given = [value for value in (working_minutes, working_hours, working_days) if value is not None]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --working-minutes, --working-hours, --working-days")
    calendar = BusinessCalendar(_load_calendar(contract), name=str(contract))
    instant = _parse_instant(start, "--start", calendar)
    try:
        result = calendar.add(
            instant, working_minutes=working_minutes, working_hours=working_hours, working_days=working_days
        )
    except ValueError as error:
        raise _fail(error) from None
    typer.echo(result.isoformat())


@app.command()
def elapsed(
    contract: ContractOption,
    start: Annotated[str, typer.Option(help="Start instant, ISO 8601; no offset = calendar-local time.")],
    end: Annotated[str, typer.Option(help="End instant, ISO 8601; no offset = calendar-local time.")],
) -> None:
    """Print the working time between **start** and **end** in seconds (negative if end is before start).

    Only time inside the calendar's working intervals counts: nights, weekends, statutory holidays are
    skipped, make-up working days (调休) count. Dates the calendar cannot classify are an error (exit code 1).

    **Examples**

    ```
    cckpi calendar elapsed -c contract.yaml --start 2026-09-30T17:55+08:00 --end 2026-10-08T09:10+08:00
    900
    ```
    """
    calendar = BusinessCalendar(_load_calendar(contract), name=str(contract))
    first = _parse_instant(start, "--start", calendar)
    last = _parse_instant(end, "--end", calendar)
    try:
        working = calendar.elapsed(first, last)
    except ValueError as error:
        raise _fail(error) from None
    seconds = working / timedelta(seconds=1)
    typer.echo(str(int(seconds)) if seconds == int(seconds) else f"{seconds:.6f}")
