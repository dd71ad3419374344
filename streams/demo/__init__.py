"""The local demo: broker, worker and simulator started together, with a live terminal view."""

from streams.demo.run import DEMO_CONTRACT, DemoOptions, example_contract, run_demo

__all__ = ["DEMO_CONTRACT", "DemoOptions", "example_contract", "run_demo"]
