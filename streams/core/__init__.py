"""Pure KPI core: contributions, windows, aggregates, verdicts. No Kafka or Faust imports."""
