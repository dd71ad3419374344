"""The local demo: broker, worker and simulator started together, with a live terminal view."""

from streams.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
