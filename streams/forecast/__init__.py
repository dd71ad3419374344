"""Breach forecasts: queueing models (Erlang C and A) and period budgets, as pure functions."""

from streams.forecast.erlang import Prediction, agents_needed, erlang_b, erlang_c, predict, predict_a, predict_c

__all__ = ["Prediction", "agents_needed", "erlang_b", "erlang_c", "predict", "predict_a", "predict_c"]
