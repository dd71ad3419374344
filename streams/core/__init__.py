"""Pure KPI core: contributions, windows, aggregates, verdicts. No Kafka or Faust imports."""

from streams.core.batch import Engine, compute
from streams.core.kpis import KPIS, KpiKind
from streams.core.processor import Processor
from streams.core.records import (
    BreachUpdate,
    DuplicateEvent,
    LateContribution,
    Output,
    QueueForecast,
    TermForecast,
    TicketMissed,
    TicketSolvedLate,
    TicketWarning,
    WindowResult,
)
from streams.core.state import ScopeState, WindowAgg
from streams.core.terms import CompiledTerm, TermIndex, compile_terms
from streams.core.verdict import Status, judge
from streams.core.windows import WindowSpec

__all__ = [
    "KPIS",
    "BreachUpdate",
    "CompiledTerm",
    "DuplicateEvent",
    "Engine",
    "KpiKind",
    "LateContribution",
    "Output",
    "Processor",
    "QueueForecast",
    "ScopeState",
    "Status",
    "TermForecast",
    "TermIndex",
    "TicketMissed",
    "TicketSolvedLate",
    "TicketWarning",
    "WindowAgg",
    "WindowResult",
    "WindowSpec",
    "compile_terms",
    "compute",
    "judge",
]
