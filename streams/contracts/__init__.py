"""Contract files: schema, loading with line numbers, validation."""
