"""Names of the Kafka topics cckpi reads and writes."""

CALLS = "cckpi.calls"
"""Call events, keyed by queue so all events of a queue share a partition."""
KPI_WINDOWS = "cckpi.kpi-windows"
"""Every closed window and its revisions, keyed by window."""
BREACHES = "cckpi.breaches"
"""Windows that breached their term, keyed by breach id."""
DEAD_LETTER = "cckpi.dead-letter"
"""Messages that could not be used, with the reason."""
TICKS = "cckpi.ticks"
"""Internal: per-partition clock ticks that let quiet scopes close their windows."""

OUTPUTS = (KPI_WINDOWS, BREACHES, DEAD_LETTER)
