"""Names of the Kafka topics cckpi reads and writes."""

CALLS = "cckpi.calls"
"""Call events, keyed by queue so all events of a queue share a partition."""
KPI_WINDOWS = "cckpi.kpi-windows"
"""Every closed window and its revisions, keyed by window."""
BREACHES = "cckpi.breaches"
"""Windows that breached their term, keyed by breach id."""
ESCALATIONS = "cckpi.escalations"
"""Escalation rights reached (e.g. 3 breaches in a quarter), keyed by escalation id; written by `cckpi ledger`."""
DEAD_LETTER = "cckpi.dead-letter"
"""Messages that could not be used, with the reason."""

OUTPUTS = (KPI_WINDOWS, BREACHES, DEAD_LETTER)
TICKETS = "cckpi.tickets"
"""Ticket events, keyed by ticket id so each ticket's life stays in order on one partition."""
SURVEYS = "cckpi.surveys"
"""Survey events, keyed by queue (or survey id when there is no queue)."""
AVAILABILITY = "cckpi.availability"
"""Service availability events (down, up, probes), keyed by service."""

EVENT_TOPICS = (CALLS, TICKETS, SURVEYS, AVAILABILITY)
"""Every topic that carries source events, one per event family."""

SINGLE_PARTITION = frozenset({TICKETS, SURVEYS, AVAILABILITY})
"""Low-volume topics with one partition, so one worker sees each source in order (see `app/shell.py`)."""
