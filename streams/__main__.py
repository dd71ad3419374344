"""`python -m streams` runs the `cckpi` command (used by `cckpi demo` to start its child processes)."""

from streams.cli.main import main

main()
