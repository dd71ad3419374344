"""Simulator of realistic contact-center traffic, and its Kafka publisher."""

from streams.sim.callcenter import Traffic, simulate, simulate_queue
from streams.sim.producer import Pacing, Published, publish

__all__ = ["Pacing", "Published", "Traffic", "publish", "simulate", "simulate_queue"]
