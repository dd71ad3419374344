"""Thin Faust shell: topics, tables, agents and timers around the pure core."""
