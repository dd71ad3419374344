"""The penalty ledger: final breaches book the contract's penalties; repeated breaches reach escalation rights."""

from streams.core.penalties import penalty_of
from streams.ledger.book import (
    PERIOD_FORMS,
    Escalation,
    Ledger,
    LedgerEntry,
    Money,
    PeriodError,
    build_ledger,
    final_breaches,
    in_period,
    parse_period_label,
    period_label,
)

__all__ = ["PERIOD_FORMS", "Escalation", "Ledger", "LedgerEntry", "Money", "PeriodError", "build_ledger",
           "final_breaches", "in_period", "parse_period_label", "penalty_of", "period_label"]
