"""Adapters that turn real source formats into cckpi events.

Each adapter reads the files of one source format and yields validated events in time order, for `cckpi compute
--source NAME FILE...` (batch) and `cckpi replay --source NAME FILE...` (publish to Kafka). Rows that cannot be
used are reported, never dropped silently; see each module's docstring for its mapping and the data quirks.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.adapters.anonymous_bank import AnonymousBankAdapter
from streams.adapters.asterisk import AsteriskQueueLogAdapter
from streams.adapters.base import Adapter, AdapterError, ProblemSink, ReadStats, in_time_order
from streams.adapters.servicenow import ServiceNowIncidentsAdapter

ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (AnonymousBankAdapter(), AsteriskQueueLogAdapter(), ServiceNowIncidentsAdapter())
}
"""Every adapter by its `--source` name: anonymous-bank, asterisk-queue-log, servicenow-incidents."""


def adapter_for(name: str, timezone: str | None = None) -> Adapter:
    """The adapter registered as `name`, reading times in `timezone` (None: its default); AdapterError if unknown."""
    try:
        adapter = ADAPTERS[name]
    except KeyError:
        raise AdapterError(f"unknown source {name!r}; choose one of: {', '.join(ADAPTERS)}") from None
    if timezone is None:
        return adapter
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdapterError(f"unknown timezone {timezone!r} (use an IANA name such as Asia/Jerusalem or UTC)") from None
    return adapter.with_timezone(timezone)


__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterError",
    "AnonymousBankAdapter",
    "AsteriskQueueLogAdapter",
    "ProblemSink",
    "ReadStats",
    "ServiceNowIncidentsAdapter",
    "adapter_for",
    "in_time_order",
]
