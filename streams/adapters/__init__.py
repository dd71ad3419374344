"""Adapters that turn real source formats into cckpi events."""
