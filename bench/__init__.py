"""The cckpi benchmark (issue 7) and soak run (issue 8): workload, the three consumers measured, latency, soak.

Run with `python -m bench --help` (or `make bench`, `make soak`); bench/README.md explains the method.
"""
