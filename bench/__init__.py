"""The cckpi benchmark and soak run: workload, the three consumers measured, latency, soak.

Run with `python -m bench --help` (or `make bench`, `make soak`); bench/README.md explains the method.
"""
