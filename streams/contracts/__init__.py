"""Contract files: schema, loading with line numbers, validation."""

from streams.contracts.loader import ContractError, Problem, load_contract, load_contracts, parse_contract
from streams.contracts.model import Contract, KpiName, Term, parse_duration

__all__ = [
    "Contract",
    "ContractError",
    "KpiName",
    "Problem",
    "Term",
    "load_contract",
    "load_contracts",
    "parse_contract",
    "parse_duration",
]
