"""Breach annotations through grafana-client, against a local stub recording the HTTP exchange (no Grafana server
can run here): the stub stores annotations and answers GET /api/annotations as Grafana filters them (every tag,
time overlap, type, limit), so re-running `cckpi grafana annotate` is checked to create nothing new."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from typer.testing import CliRunner

from streams.cli.main import app
from streams.sinks.grafana import carries
from tests.unit.test_ledger import breach


def matches(annotation: dict[str, Any], query: dict[str, list[str]]) -> bool:
    """Whether Grafana's GET /api/annotations would return this annotation for these parameters."""
    start, end = annotation["time"], annotation.get("timeEnd") or annotation["time"]
    return (set(query.get("tags", [])) <= set(annotation["tags"])
            and ("from" not in query or end >= int(query["from"][0]))
            and ("to" not in query or start <= int(query["to"][0]))
            and query.get("type", ["annotation"]) == ["annotation"])


class StubGrafana:
    """Answers POST, GET, PATCH and DELETE of /api/annotations like Grafana does, and records each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, dict[str, Any]]] = []
        self.stored: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                stub.requests.append((self.command, self.path, self.headers.get("Authorization", ""), body))
                return body

            def _answer(self, payload: object, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _id(self) -> int | None:
                path = urlparse(self.path).path
                tail = path.removeprefix("/api/annotations/")
                return int(tail) if tail.isdigit() and int(tail) in stub.stored else None

            def do_POST(self) -> None:
                body, annotation_id = self._body(), stub.next_id
                stub.stored[annotation_id] = {**body, "id": annotation_id}
                stub.next_id += 1
                self._answer({"id": annotation_id, "message": "Annotation added"})

            def do_GET(self) -> None:
                self._body()
                query = parse_qs(urlparse(self.path).query)
                found = [a for a in sorted(stub.stored.values(), key=lambda a: -a["time"]) if matches(a, query)]
                self._answer(found[:int(query.get("limit", ["100"])[0])])

            def do_PATCH(self) -> None:
                body, annotation_id = self._body(), self._id()
                if annotation_id is None:
                    self._answer({"message": "Annotation not found"}, 404)
                    return
                stub.stored[annotation_id].update({k: v for k, v in body.items() if v is not None})
                self._answer({"message": "Annotation patched"})

            def do_DELETE(self) -> None:
                self._body()
                annotation_id = self._id()
                if annotation_id is None:
                    self._answer({"message": "Annotation not found"}, 404)
                    return
                del stub.stored[annotation_id]
                self._answer({"message": "Annotation deleted"})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self, method: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(path, authorization, body) of the requests with this method."""
        return [(path, auth, body) for m, path, auth, body in self.requests if m == method]


def run(grafana: StubGrafana, tmp_path: Path, records: list[dict[str, Any]], *extra: str) -> str:
    """`cckpi grafana annotate` of these records against the stub; returns its output (exit code checked)."""
    path = tmp_path / "breaches.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    result = CliRunner().invoke(app, ["grafana", "annotate", "--url", grafana.url, "--token", "glsa_test",
                                      "--breaches", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


TICKET = {"breach_id": "t/fr/ticket/T1", "kind": "ticket", "contract": "t", "term": "fr", "ticket_id": "T1",
          "deadline": "2026-10-08T09:10:00+08:00"}


def test_annotate_final_breaches_and_ticket_misses(tmp_path: Path) -> None:
    grafana = StubGrafana()
    records = [breach("2026-10-05T10:00:00+08:00"), breach("2026-10-05T10:00:00+08:00"),  # replayed: once
               breach("2026-10-06T10:00:00+08:00", state="breached"), TICKET]  # still open: no annotation
    out = run(grafana, tmp_path, records, "--dashboard-uid", "cckpi-ops")
    grafana.server.shutdown()
    assert "created 2 annotations" in out
    (path1, auth, window), (_, _, missed) = grafana.sent("POST")
    assert path1 == "/api/annotations" and auth == "Bearer glsa_test"
    assert window["dashboardUID"] == "cckpi-ops" and window["tags"] == ["cckpi", "breach", "t", "ar", "q1"]
    assert window["time"] == 1791165600000 and window["timeEnd"] == 1791166500000  # 10:00-10:15 +08:00
    assert "window revision 0" in window["text"]  # the window's revision, not the lifecycle step
    assert missed["tags"] == ["cckpi", "ticket", "t", "fr"] and "T1" in missed["text"]
    assert carries(window["text"], records[0]["breach_id"]) and carries(missed["text"], TICKET["breach_id"])


def test_rerunning_with_the_same_records_creates_nothing(tmp_path: Path) -> None:
    grafana = StubGrafana()
    records = [breach("2026-10-05T10:00:00+08:00"), breach("2026-10-05T10:15:00+08:00"), TICKET]
    assert "created 3 annotations" in run(grafana, tmp_path, records)
    before = dict(grafana.stored)
    out = run(grafana, tmp_path, records)
    out += run(grafana, tmp_path, list(reversed(records)))
    grafana.server.shutdown()
    assert out.count("created 0 annotations (0 updated, 3 already there, 0 removed)") == 2, out
    assert grafana.stored == before and len(grafana.sent("POST")) == 3
    assert not grafana.sent("PATCH") and not grafana.sent("DELETE")


def test_a_later_revision_updates_the_annotation_and_met_removes_it(tmp_path: Path) -> None:
    grafana = StubGrafana()
    first, other = breach("2026-10-05T10:00:00+08:00"), breach("2026-10-05T10:15:00+08:00")
    run(grafana, tmp_path, [first, other])
    revised = {**first, "revision": 2, "window_revision": 1, "value": 0.6}  # a late call: still breached
    out = run(grafana, tmp_path, [first, other, revised])
    assert "created 0 annotations (1 updated, 1 already there, 0 removed)" in out
    (text,) = [a["text"] for a in grafana.stored.values() if carries(a["text"], first["breach_id"])]
    assert "0.6 vs 0.8" in text and "window revision 1" in text and len(grafana.stored) == 2
    met = {**revised, "revision": 3, "window_revision": 2, "status": "met", "value": 0.9}
    out = run(grafana, tmp_path, [first, other, revised, met])
    grafana.server.shutdown()
    assert "created 0 annotations (0 updated, 1 already there, 1 removed)" in out
    (kept,) = grafana.stored.values()
    assert carries(kept["text"], other["breach_id"])


def test_duplicates_of_earlier_runs_are_removed_and_prefix_ids_kept_apart(tmp_path: Path) -> None:
    """Annotations posted twice by a run before annotating was idempotent collapse to one; an id that is a prefix
    of another with the same tags and time (`a/b` and `a/bc`) is not taken for it."""
    grafana = StubGrafana()
    longer = {**breach("2026-10-05T10:00:00+08:00"), "breach_id": "t/ar/q1x"}
    prefix = {**longer, "breach_id": "t/ar/q1"}  # hostile: its lookup returns `longer`'s annotation too
    run(grafana, tmp_path, [longer])
    grafana.stored[99] = {**grafana.stored[1], "id": 99}  # the same breach twice
    grafana.next_id = 100
    out = run(grafana, tmp_path, [longer, prefix])
    grafana.server.shutdown()
    assert "created 1 annotations (0 updated, 1 already there, 1 removed)" in out
    assert sorted(a["id"] for a in grafana.stored.values()) == [1, 100]
    assert carries(grafana.stored[100]["text"], "t/ar/q1") and not carries(grafana.stored[1]["text"], "t/ar/q1")


def test_tags_needing_url_encoding_are_found_again(tmp_path: Path) -> None:
    """Queue names with `&`, `#`, spaces and CJK are tags; the lookup must ask for them exactly."""
    grafana = StubGrafana()
    hostile = {**breach("2026-10-05T10:00:00+08:00"), "scope": "客服 & 投诉#1+2"}
    hostile["breach_id"] = f"t/ar/{hostile['scope']}/2026-10-05T10:00:00+08:00"
    run(grafana, tmp_path, [hostile])
    out = run(grafana, tmp_path, [hostile])
    grafana.server.shutdown()
    assert "created 0 annotations (0 updated, 1 already there, 0 removed)" in out
    (path, _, _) = grafana.sent("GET")[-1]
    assert parse_qs(urlparse(path).query)["tags"] == ["cckpi", "breach", "t", "ar", "客服 & 投诉#1+2"]
