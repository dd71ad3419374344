"""The penalty ledger: final breaches book the contract's penalties; repeated breaches reach escalation rights."""

from streams.ledger.book import Escalation, Ledger, LedgerEntry, build_ledger, in_period

__all__ = ["Escalation", "Ledger", "LedgerEntry", "build_ledger", "in_period"]
