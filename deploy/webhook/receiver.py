"""A small Alertmanager webhook receiver for the cckpi compose stack: the example target of every receiver in
deploy/alertmanager/alertmanager.yml, so a breach visibly arrives somewhere (`docker compose logs webhook`).

POST /alertmanager/<receiver>  one Alertmanager notification (JSON): printed as one JSON line, kept in memory
GET  /notifications            the last notifications received (JSON list, oldest first)
GET  /healthz                  "ok"

Standard library only (it runs in the plain python image). Replace it with your relay (WeCom robot, chat, ticketing)
by pointing the receivers' webhook URLs there.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1 << 20
"""Largest notification accepted (bytes); Alertmanager's are a few kB per alert."""
KEEP = 500
"""How many notifications GET /notifications returns at most (the oldest are dropped)."""
PREFIX = "/alertmanager/"


class ReceiverServer(ThreadingHTTPServer):
    """The HTTP server, holding the notifications received so far (bounded)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], keep: int = KEEP) -> None:
        super().__init__(address, Handler)
        self.received: deque[dict[str, Any]] = deque(maxlen=keep)


def summary(receiver: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What is logged and kept of one notification: receiver path, status, and each alert's labels and status."""
    listed = payload.get("alerts")
    alerts: list[Any] = listed if isinstance(listed, list) else []
    return {
        "receiver": receiver,
        "status": payload.get("status"),
        "alertmanager_receiver": payload.get("receiver"),
        "group_labels": payload.get("groupLabels", {}),
        "alerts": [{"status": a.get("status"), "labels": a.get("labels", {}),
                    "summary": (a.get("annotations") or {}).get("summary")}
                   for a in alerts if isinstance(a, dict)],
    }


class Handler(BaseHTTPRequestHandler):
    """POST notifications in, GET them (or health) out."""

    server: ReceiverServer

    def do_POST(self) -> None:
        """Take one notification posted to /alertmanager/<receiver>."""
        receiver = self.path.removeprefix(PREFIX).strip("/")
        if not self.path.startswith(PREFIX) or not receiver:
            self._reply(404, {"error": f"post to {PREFIX}<receiver>"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, {"error": f"body of 1..{MAX_BODY} bytes expected"})
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(400, {"error": "body is not JSON"})
            return
        if not isinstance(payload, dict):
            self._reply(400, {"error": "body is not a JSON object"})
            return
        note = summary(receiver, payload)
        self.server.received.append(note)
        print(json.dumps(note, ensure_ascii=False), flush=True)
        self._reply(200, {"ok": True})

    def do_GET(self) -> None:
        """Health, or the notifications kept."""
        if self.path == "/healthz":
            self._reply(200, "ok")
        elif self.path == "/notifications":
            self._reply(200, list(self.server.received))
        else:
            self._reply(404, {"error": "GET /notifications or /healthz"})

    def _reply(self, code: int, body: Any) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Only notifications go to stdout; request lines are not logged."""


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all, in its container)")
    parser.add_argument("--port", type=int, default=9199)
    args = parser.parse_args(argv)
    try:
        server = ReceiverServer((args.host, args.port))
    except OSError as exc:
        print(f"receiver: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    # As a container's PID 1 the default SIGTERM disposition is ignored: make `docker compose stop` quick.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"receiver: listening on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
