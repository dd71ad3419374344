"""Contract statements: a month's or quarter's attainment, breaches, penalties and evidence, built from the same
window and breach records the stream publishes, written as HTML (with inline SVG charts), CSV and PDF."""

from streams.report.period import Period, parse_period
from streams.report.statement import Statement, build_statement

__all__ = ["Period", "Statement", "build_statement", "parse_period"]
