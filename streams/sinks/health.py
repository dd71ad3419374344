"""The worker's HTTP endpoints beside `/metrics`: `/healthz` (the process is alive: 200 while it serves) and
`/readyz` (200 only while a readiness callable says the worker can do its work, else 503 with a one-line reason),
for compose healthchecks and Kubernetes probes. Everything else is the Prometheus exposition."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

Readiness = Callable[[], tuple[bool, str]]
"""(ready, reason): e.g. (False, "waiting for the consumer group") or (True, "ready")."""
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HEALTH, READY = "/healthz", "/readyz"


def one_line(text: str, limit: int = 200) -> str:
    """A reason as one short line (probes and `kubectl describe` show it verbatim)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def readiness(ready: Readiness | None) -> tuple[bool, str]:
    """The callable's answer; no callable: ready; a callable that fails: not ready, its error as the reason."""
    if ready is None:
        return True, "ready (no readiness check)"
    try:
        ok, reason = ready()
    except Exception as exc:  # a failing check means "not ready", never a crashed endpoint
        return False, one_line(f"readiness check failed: {type(exc).__name__}: {exc}")
    return bool(ok), one_line(reason or ("ready" if ok else "not ready"))


def health_app(registry: CollectorRegistry, ready: Readiness | None = None) -> WsgiApp:
    """WSGI app: `/healthz`, `/readyz`, and the registry's metrics on every other path."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in (HEALTH, READY):
            return metrics(environ, start_response)
        ok, reason = (True, "alive") if path == HEALTH else readiness(ready)
        body = (reason + "\n").encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store")])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per request, none of them keeping the process alive."""

    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    """No access log on stderr (probes ask every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_server(port: int, addr: str, app: WsgiApp) -> WSGIServer:
    """Serve `app` on addr:port (IPv4 or IPv6, as the address resolves) in a daemon thread; returns the server
    (its `server_address` has the port when 0 was asked, `shutdown()` stops it)."""
    family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_class = type("Server", (_Server,), {"address_family": family})
    server: WSGIServer = make_server(addr, port, app, server_class, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="cckpi-metrics-http", daemon=True).start()
    return server
