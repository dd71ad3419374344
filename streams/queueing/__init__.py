"""Queueing maths below the core: Erlang C / A staffing models and period budgets, pure functions of numbers.

Imports nothing of cckpi, so the core (`streams.core.forecast`) and the tools above it can both use it."""

from streams.queueing.budget import Budget, period_budget
from streams.queueing.erlang import Prediction, agents_needed, erlang_b, erlang_c, predict, predict_a, predict_c

__all__ = ["Budget", "Prediction", "agents_needed", "erlang_b", "erlang_c", "period_budget", "predict", "predict_a",
           "predict_c"]
