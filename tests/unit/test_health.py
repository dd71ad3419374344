"""The worker's /healthz and /readyz beside /metrics, against a real local server (`Metrics.serve`)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from streams.sinks.health import Readiness
from streams.sinks.metrics import Metrics


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Switch:
    """A readiness callable the test flips."""

    def __init__(self) -> None:
        self.state: tuple[bool, str] = (False, "waiting for the consumer group")

    def __call__(self) -> tuple[bool, str]:
        return self.state


Start = Callable[[Readiness | None], str]
"""Starts a server with this readiness check; returns its base URL."""


@pytest.fixture
def serve() -> Iterator[Start]:
    servers = []

    def start(ready: Readiness | None) -> str:
        server = Metrics().serve(0, "127.0.0.1", ready)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_readyz_follows_the_readiness_callable_and_healthz_stays_up(serve: Start) -> None:
    switch = Switch()
    base = serve(switch)
    assert get(f"{base}/healthz") == (200, "alive\n")
    assert get(f"{base}/readyz") == (503, "waiting for the consumer group\n")
    switch.state = (True, "joined cckpi, 12 partitions restored")
    assert get(f"{base}/readyz") == (200, "joined cckpi, 12 partitions restored\n")
    switch.state = (False, "rebalancing:\n  partitions revoked")  # back to not ready; the reason is one line
    assert get(f"{base}/readyz") == (503, "rebalancing: partitions revoked\n")
    status, body = get(f"{base}/metrics")
    assert status == 200 and "cckpi_events_total" in body


def test_a_failing_readiness_check_is_not_ready_and_no_check_is_ready(serve: Start) -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("store\nclosed")

    assert get(f"{serve(broken)}/readyz") == (503, "readiness check failed: RuntimeError: store closed\n")
    unchecked = serve(None)
    assert get(f"{unchecked}/readyz")[0] == 200 and get(f"{unchecked}/healthz")[0] == 200


def test_a_worker_with_pooled_terms_is_ready_only_once_both_its_loops_are() -> None:
    from types import SimpleNamespace

    from streams.app.worker import readiness_of

    source = SimpleNamespace(readiness=(True, "joined x-sources, 5 source partitions restored"))
    pool = SimpleNamespace(readiness=(False, "pooled terms: joining consumer group x-pool"))
    ready = readiness_of([source, pool])  # type: ignore[list-item]
    assert ready() == (False, "joined x-sources, 5 source partitions restored; pooled terms: joining consumer "
                              "group x-pool")
    pool.readiness = (True, "joined x-pool, 2 pool partitions restored")
    assert ready()[0] is True
    assert readiness_of([source])() == source.readiness  # type: ignore[list-item]
