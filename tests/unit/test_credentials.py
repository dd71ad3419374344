"""Sink credentials come from files or the environment and travel as an Authorization header; URLs and error
messages are logged without userinfo, query values or any known secret."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.sinks.alertmanager import AlertmanagerSink
from streams.sinks.credentials import (
    CredentialsError,
    HttpCredentials,
    redact_text,
    redact_url,
    resolve_credentials,
    split_userinfo,
)
from tests.unit.test_alertmanager_sink import BASE
from tests.unit.test_grafana_annotations import StubGrafana
from tests.unit.test_ledger import breach

PREFIX = "CCKPI_ALERTMANAGER"
DEMO = str(Path(__file__).parents[2] / "contracts" / "examples" / "demo.yaml")


@pytest.mark.parametrize(("url", "shown"), [
    ("http://am:9093", "http://am:9093"),
    ("http://alice:s3cret@am:9093/base", "http://***@am:9093/base"),
    ("https://tok3n@am", "https://***@am"),
    ("http://u:p@ss@w0rd@am/x", "http://***@am/x"),  # an unencoded @ in the password
    ("http://u:p%40ss@[::1]:9093", "http://***@[::1]:9093"),
    ("alice:s3cret@am:9093", "***@am:9093"),  # no scheme
    ("http://am/x?token=s3cret&org=1&bare", "http://am/x?token=***&org=***&***"),
    ("http://am/cb#access_token=s3cret", "http://am/cb#***"),
    ("http://am/a@b", "http://am/a@b"),  # an @ in the path is not userinfo
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_urls_and_known_secrets() -> None:
    creds = HttpCredentials("alice", "pa ss/wd")
    text = "Client error '401' for url 'http://alice:pa%20ss%2Fwd@am/api?key=k1' (Basic YWxpY2U6cGEgc3Mvd2Q=) pa ss/wd"
    shown = redact_text(text, creds.secrets())
    assert "pa ss" not in shown and "pa%20ss" not in shown and "k1" not in shown and "YWxp" not in shown
    assert "http://***@am/api?key=***" in shown


def test_credentials_never_show_in_repr_and_make_the_header() -> None:
    basic, bearer = HttpCredentials("alice", "s3cret"), HttpCredentials(token="t0ken")
    assert "s3cret" not in repr(basic) and "t0ken" not in repr(bearer)
    assert basic.headers() == {"Authorization": "Basic YWxpY2U6czNjcmV0"}
    assert bearer.headers() == {"Authorization": "Bearer t0ken"}


@pytest.mark.parametrize("kwargs", [
    {}, {"username": "a"}, {"password": "p"}, {"username": "a", "password": "p", "token": "t"},
    {"token": "two words"}, {"token": "t\r\nX-Injected: 1"}, {"username": "a:b", "password": "p"},
    {"username": "a", "password": "p\n"},
])
def test_malformed_credentials_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(CredentialsError):
        HttpCredentials(**kwargs)


def test_userinfo_leaves_the_url() -> None:
    bare, creds = split_userinfo("http://alice:p%40ss@am:9093/x?y=1")
    assert bare == "http://am:9093/x?y=1" and creds == HttpCredentials("alice", "p@ss")
    assert split_userinfo("http://am:9093") == ("http://am:9093", None)


def test_sources_in_order_file_then_environment_then_url(tmp_path: Path) -> None:
    url = "http://u:from-url@am:9093"
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    auth = tmp_path / "am.yaml"
    auth.write_text("token: from-auth-file\n")
    env = {f"{PREFIX}_USERNAME": "bob", f"{PREFIX}_PASSWORD_FILE": str(secret)}
    assert resolve_credentials(url, PREFIX, env, auth) == ("http://am:9093", HttpCredentials(token="from-auth-file"))
    assert resolve_credentials(url, PREFIX, env) == ("http://am:9093", HttpCredentials("bob", "from-file"))
    assert resolve_credentials(url, PREFIX, {f"{PREFIX}_TOKEN": ""}) == ("http://am:9093",
                                                                         HttpCredentials("u", "from-url"))
    assert resolve_credentials("http://am", PREFIX, {}) == ("http://am", None)


@pytest.mark.parametrize(("env", "auth", "problem"), [
    ({f"{PREFIX}_TOKEN": "t", f"{PREFIX}_TOKEN_FILE": "/x"}, None, "not both"),
    ({f"{PREFIX}_USERNAME": "bob"}, None, "needs a password"),
    ({f"{PREFIX}_USERNAME": "bob", f"{PREFIX}_PASSWORD": "p", f"{PREFIX}_TOKEN": "t"}, None, "either"),
    ({f"{PREFIX}_PASSWORD_FILE": "missing-file"}, None, "cannot read"),
    ({}, "username: bob\n", "needs a password"),
    ({}, "token: 123\n", "must be a string"),
    ({}, "tok: x\n", "unknown keys tok"),
    ({}, "just-a-token\n", "expected a mapping"),
    ({}, "token: [unclosed\n", "not YAML"),
])
def test_credential_mistakes_say_where(tmp_path: Path, env: dict[str, str], auth: str | None, problem: str) -> None:
    path = None
    if auth is not None:
        path = tmp_path / "auth.yaml"
        path.write_text(auth)
    with pytest.raises(CredentialsError, match=problem):
        resolve_credentials("http://am", PREFIX, env, path)


class Recorder:
    """A local HTTP server answering every POST (and GET) with `status`, recording the Authorization headers it
    got."""

    def __init__(self, status: int) -> None:
        self.auth: list[str | None] = []
        seen = self.auth

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # grafana annotate looks the breach's annotation up first

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    server = Recorder(getattr(request, "param", 200))
    yield server
    server.server.shutdown()


def post(sink: AlertmanagerSink) -> int:
    sink.on_update(BASE)

    async def go() -> int:
        async with httpx.AsyncClient() as client:
            return await sink.flush(client)
    return asyncio.run(go())


@pytest.mark.parametrize("recorder", [401], indirect=True)
def test_a_failing_post_logs_no_secret(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    sink = AlertmanagerSink(f"http://alice:s3cret-pw@{recorder.base}/am?access_token=s3cret-qs")
    with caplog.at_level(logging.WARNING):
        assert post(sink) == 0
    assert recorder.auth == ["Basic YWxpY2U6czNjcmV0LXB3"]  # alice:s3cret-pw, as a header, not in the URL
    assert "did not take 1 alerts" in caplog.text and "401" in caplog.text
    assert "s3cret" not in caplog.text and "YWxpY2U6" not in caplog.text
    assert f"http://{recorder.base}/am?access_token=***" in caplog.text
    assert "\n" not in caplog.records[0].getMessage()
    assert "s3cret-pw" not in sink.url and sink.pending  # kept for the next attempt


def test_an_unreachable_alertmanager_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    sink = AlertmanagerSink("http://127.0.0.1:9/?token=s3cret-qs", credentials=HttpCredentials(token="s3cret-tok"))
    with caplog.at_level(logging.WARNING):
        assert post(sink) == 0
    assert "did not take" in caplog.text and "s3cret" not in caplog.text


def test_a_bearer_token_reaches_the_server(recorder: Recorder) -> None:
    sink = AlertmanagerSink(f"http://{recorder.base}", credentials=HttpCredentials(token="t0ken"))
    assert post(sink) == 1 and recorder.auth == ["Bearer t0ken"]


def test_worker_takes_credentials_from_the_environment_not_argv(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """The worker command hands the bare URL and the credentials to the worker (its argv never needs them)."""
    import streams.app.worker as worker

    seen: list[tuple[object, ...]] = []
    monkeypatch.setattr(worker, "run_worker", lambda *args: seen.append(args))
    monkeypatch.setenv(f"{PREFIX}_TOKEN", "env-t0ken")
    result = CliRunner().invoke(app, ["worker", "-c", DEMO, "--data-dir",
                                      str(tmp_path / "d"), "--alertmanager-url", "http://am:9093?x=1"])
    assert result.exit_code == 0, result.output
    [(settings, _, creds)] = seen
    assert settings.alertmanager_url == "http://am:9093?x=1" and creds == HttpCredentials(token="env-t0ken")


@pytest.mark.parametrize("command", [["worker", "-c", DEMO], ["demo"]])
def test_bad_credentials_are_a_one_line_user_error(command: list[str], tmp_path: Path) -> None:
    auth = tmp_path / "am.yaml"
    auth.write_text("username: bob\npassword: [1]\n")
    result = CliRunner().invoke(app, [*command, "--alertmanager-url", "http://am", "--alertmanager-auth-file",
                                      str(auth)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {auth}: password must be a string (quote it)"]


def test_grafana_credentials_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCKPI_GRAFANA_TOKEN", raising=False)
    grafana = StubGrafana()
    auth = tmp_path / "grafana.yaml"
    auth.write_text("token: glsa_from_file\n")
    records = tmp_path / "b.jsonl"
    records.write_bytes(orjson.dumps(breach("2026-10-05T10:00:00+08:00")))
    result = CliRunner().invoke(app, ["grafana", "annotate", "--url", grafana.url, "--auth-file", str(auth),
                                      "--breaches", str(records)])
    grafana.server.shutdown()
    assert result.exit_code == 0, result.output
    assert {auth for _, _, auth, _ in grafana.requests} == {"Bearer glsa_from_file"}  # the lookup and the post


@pytest.mark.parametrize("recorder", [500], indirect=True)
def test_grafana_failure_is_one_line_without_secrets(recorder: Recorder, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKPI_GRAFANA_TOKEN", "glsa_s3cret")
    records = tmp_path / "b.jsonl"
    records.write_bytes(orjson.dumps(breach("2026-10-05T10:00:00+08:00")))
    result = CliRunner().invoke(app, ["grafana", "annotate", "--url", f"http://{recorder.base}/g?auth=s3cret-qs",
                                      "--breaches", str(records)])
    assert result.exit_code == 1
    assert recorder.auth and recorder.auth[0] == "Bearer glsa_s3cret"
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_grafana_without_credentials_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CCKPI_GRAFANA_TOKEN", raising=False)
    records = tmp_path / "b.jsonl"
    records.write_text("")
    result = CliRunner().invoke(app, ["grafana", "annotate", "--url", "http://g", "--breaches", str(records)])
    assert result.exit_code == 2 and result.output.startswith("error: no Grafana credentials")
