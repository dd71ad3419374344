"""The local demo: broker, worker and simulator started together, with a live terminal view."""

from streams.demo.run import DemoOptions, example_contract, run_demo

__all__ = ["DemoOptions", "example_contract", "run_demo"]
