"""Breach annotations through grafana-client, against a local stub recording the HTTP exchange (no Grafana server
can run here)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from streams.cli.main import app
from tests.unit.test_ledger import breach


class StubGrafana:
    """Answers POST /api/annotations like Grafana does and records each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                requests.append((self.path, self.headers.get("Authorization", ""), body))
                payload = json.dumps({"id": len(requests), "message": "Annotation added"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_annotate_final_breaches_and_ticket_misses(tmp_path: Path) -> None:
    grafana = StubGrafana()
    ticket = {"breach_id": "t/fr/ticket/T1", "kind": "ticket", "contract": "t", "term": "fr", "ticket_id": "T1",
              "deadline": "2026-10-08T09:10:00+08:00"}
    records = [breach("2026-10-05T10:00:00+08:00"), breach("2026-10-05T10:00:00+08:00"),  # replayed: once
               breach("2026-10-06T10:00:00+08:00", state="breached"), ticket]  # still open: no annotation
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    result = CliRunner().invoke(app, ["grafana", "annotate", "--url", grafana.url, "--token", "glsa_test",
                                      "--breaches", str(path), "--dashboard-uid", "cckpi-ops"])
    grafana.server.shutdown()
    assert result.exit_code == 0, result.output
    assert "created 2 annotations" in result.stdout
    (path1, auth, window), (_, _, missed) = grafana.requests
    assert path1 == "/api/annotations" and auth == "Bearer glsa_test"
    assert window["dashboardUID"] == "cckpi-ops" and window["tags"] == ["cckpi", "breach", "t", "ar", "q1"]
    assert window["time"] == 1791165600000 and window["timeEnd"] == 1791166500000  # 10:00-10:15 +08:00
    assert "window revision 0" in window["text"]  # the window's revision, not the lifecycle step
    assert missed["tags"] == ["cckpi", "ticket", "t", "fr"] and "T1" in missed["text"]
