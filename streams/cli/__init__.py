"""The `cckpi` command line."""
