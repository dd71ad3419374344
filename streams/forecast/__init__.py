"""Backtests of the core's breach forecasts on recorded calls: a batch tool above the core.

The queueing models and period budgets the forecasts use are in `streams.queueing`, below the core."""
