"""Settings from flags or `CCKPI_*` variables (flags win), `cckpi worker --print-config` with secrets redacted,
`--log-format json`, and docs/configuration.md generated from the CLI definitions.

`python -m tests.unit.test_configuration` rewrites the settings tables of docs/configuration.md from the commands.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from streams.app.process import configure_handlers, setup_logging
from streams.cli.credentials import env_token
from streams.cli.main import app
from streams.cli.options import env_name
from streams.sinks.credentials import MASK, redacted

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
DEMO = str(ROOT / "contracts" / "examples" / "demo.yaml")
HELPDESK = str(ROOT / "contracts" / "examples" / "helpdesk-sla.yaml")
BEGIN, END = "<!-- settings:begin (generated: python -m tests.unit.test_configuration) -->", "<!-- settings:end -->"


@pytest.fixture(autouse=True)
def _no_cckpi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the CCKPI_* variables it sets."""
    for name in list(os.environ):
        if name.startswith("CCKPI_") or name == "GRAFANA_TOKEN":
            monkeypatch.delenv(name)


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`cckpi ARGS` in-process with extra environment: exit code, stdout, stderr."""
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def config(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """The settings `cckpi worker --print-config ARGS` prints (YAML), after checking it exits 0."""
    code, out, err = run(["worker", "--print-config", *args], env)
    assert code == 0, err
    data = yaml.safe_load(out)
    assert isinstance(data, dict)
    return data


def test_a_variable_sets_a_setting_and_a_flag_overrides_it() -> None:
    env = {"CCKPI_CONTRACT": DEMO, "CCKPI_METRICS_PORT": "9300", "CCKPI_APP_ID": "from-env",
           "CCKPI_LOG_FORMAT": "json"}
    from_env = config([], env)
    assert (from_env["metrics_port"], from_env["app_id"], from_env["log_format"]) == (9300, "from-env", "json")
    assert from_env["contract"] == [DEMO]
    flagged = config(["--metrics-port", "9400", "--app-id", "from-flag", "-c", HELPDESK], env)
    assert (flagged["metrics_port"], flagged["app_id"], flagged["contract"]) == (9400, "from-flag", [HELPDESK])
    assert flagged["log_format"] == "json"  # not given as a flag: still the variable's


def test_defaults_when_neither_is_given() -> None:
    settings = config(["-c", DEMO])
    assert (settings["metrics_port"], settings["app_id"], settings["log_format"], settings["broker"]) == (
        None, "cckpi", "text", "kafka://127.0.0.1:9092")


def test_several_contract_files_in_the_variable_are_separated_by_the_path_separator() -> None:
    assert config([], {"CCKPI_CONTRACT": os.pathsep.join([DEMO, HELPDESK])})["contract"] == [DEMO, HELPDESK]


def test_print_config_redacts_a_password_from_the_environment_and_userinfo_in_urls() -> None:
    env = {"CCKPI_CONTRACT": DEMO, "CCKPI_ALERTMANAGER_URL": "http://am.internal:9093",
           "CCKPI_ALERTMANAGER_USERNAME": "alice", "CCKPI_ALERTMANAGER_PASSWORD": "env-s3cret-pw",
           "CCKPI_BROKER": "kafka://svc:broker-s3cret@kafka.internal:9092"}
    code, out, err = run(["worker", "--print-config"], env)
    assert code == 0, err
    assert "env-s3cret-pw" not in out and "broker-s3cret" not in out
    settings = yaml.safe_load(out)
    assert settings["alertmanager_credentials"] == {"username": "alice", "password": MASK, "token": None}
    assert settings["broker"] == f"kafka://{MASK}@kafka.internal:9092"
    assert settings["alertmanager_url"] == "http://am.internal:9093"


def test_print_config_masks_the_credentials_a_url_carried_and_prints_json_on_request() -> None:
    code, out, err = run(["worker", "--print-config", "--config-format", "json", "-c", DEMO,
                          "--alertmanager-url", "http://bob:url-pa55@am:9093/?token=q-s3cret"])
    assert code == 0, err
    assert "url-pa55" not in out and "q-s3cret" not in out
    settings = json.loads(out)
    assert settings["alertmanager_credentials"]["password"] == MASK
    assert settings["alertmanager_url"] == f"http://am:9093/?token={MASK}"


def test_print_config_shows_every_field_of_the_worker_settings() -> None:
    from dataclasses import fields

    from streams.app.settings import WorkerSettings

    assert {f.name for f in fields(WorkerSettings)} <= set(config(["-c", DEMO]))


@pytest.mark.parametrize(("name", "value"), [("CCKPI_METRICS_PORT", "nine"), ("CCKPI_LOG_FORMAT", "xml"),
                                             ("CCKPI_PARTITIONS", "0"), ("CCKPI_LOG_LEVEL", "loud")])
def test_a_bad_variable_is_one_line_naming_it_and_exit_2(name: str, value: str) -> None:
    code, _, err = run(["worker", "--print-config", "-c", DEMO], {name: value})
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and name in err and "Traceback" not in err


def test_a_source_flag_wins_over_the_broker_variable(tmp_path: Path) -> None:
    """`ledger` takes one source: CCKPI_BROKER (e.g. set for the worker) must not clash with `--breaches`."""
    records = tmp_path / "breaches.jsonl"
    records.write_text("", encoding="utf-8")
    code, out, err = run(["ledger", "-c", DEMO, "--period", "2026-10", "--breaches", str(records), "--format",
                          "json"], {"CCKPI_BROKER": "127.0.0.1:1"})
    assert code == 0, err
    assert json.loads(out)["period"] == "2026-10"


def test_the_flag_of_max_future_wins_over_the_variable_of_its_older_form() -> None:
    env = {"CCKPI_CONTRACT": DEMO, "CCKPI_MAX_FUTURE_DAYS": "2"}
    assert config([], env)["max_future"] == 2 * 86400
    assert config(["--max-future", "30s"], env)["max_future"] == 30


def test_help_shows_each_setting_s_variable() -> None:
    code, out, _ = run(["worker", "--help"], {"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert code == 0
    for option in settings_of(typer.main.get_command(app), ())["cckpi worker"]:
        assert option.envvar in out


def test_every_variable_follows_the_naming_rule() -> None:
    options = [o for rows in settings_of(typer.main.get_command(app), ()).values() for o in rows]
    assert len(options) > 20
    for option in options:
        assert option.envvar == env_name(max(option.opts, key=len)), option.opts


def test_the_grafana_token_of_dashboards_publish_has_the_prefix_of_grafana_annotate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text("glsa_from_file\n", encoding="utf-8")
    monkeypatch.setenv("CCKPI_GRAFANA_TOKEN_FILE", str(secret))
    assert env_token() == "glsa_from_file"


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_setup_logging_json_writes_one_object_per_line_with_the_extra_fields() -> None:
    stream = io.StringIO()
    root = setup_logging("info", "json", stream)
    try:
        logging.getLogger("cckpi.test").info("published %d events", 3, extra={"topic": "cckpi.calls"})
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            logging.getLogger("cckpi.test").exception("failed")
        logging.getLogger("cckpi.test").debug("not at info")
    finally:
        setup_logging("warning", "text", io.StringIO())
    first, second = json_lines(stream)
    assert {"ts", "level", "logger", "message"} <= set(first)
    assert (first["level"], first["logger"], first["message"], first["topic"]) == (
        "info", "cckpi.test", "published 3 events", "cckpi.calls")
    assert str(first["ts"]).endswith("Z")
    assert second["level"] == "error" and "ValueError: bad" in str(second["exc"])
    assert root is logging.getLogger()


def test_setup_logging_twice_replaces_its_handler() -> None:
    stream = io.StringIO()
    setup_logging("info", "text", io.StringIO())
    setup_logging("info", "json", stream)
    try:
        logging.getLogger("cckpi.test").warning("once")
    finally:
        setup_logging("warning", "text", io.StringIO())
    assert [line["message"] for line in json_lines(stream)] == ["once"]


def test_the_worker_s_handlers_write_json_and_hold_back_repeats() -> None:
    """What the worker does to the root logger Faust set up (`QuietWorker.on_setup_root_logger`)."""
    stream = io.StringIO()
    logger = logging.getLogger("cckpi.test.worker")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))
    try:
        configure_handlers(logger, "json")
        for _ in range(3):
            logger.warning("broker %s unreachable", "k1")
    finally:
        logger.handlers.clear()
    [line] = json_lines(stream)
    assert (line["level"], line["message"]) == ("warning", "broker k1 unreachable")


def test_the_json_log_lines_of_a_command_parse() -> None:
    """A command's own log setup (`simulate --log-format json`), in a process of its own."""
    import subprocess

    code = ("from streams.cli.options import LogFormat, LogLevel, setup_command_logging\n"
            "import logging\nsetup_command_logging(LogLevel.info, LogFormat.json)\n"
            "logging.getLogger('aiokafka').warning('x', extra={'broker': 'b'})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    [line] = [json.loads(text) for text in done.stderr.splitlines()]
    assert (line["logger"], line["message"], line["broker"]) == ("aiokafka", "x", "b")


def test_the_worker_process_logs_json_lines_through_faust_s_logging_setup() -> None:
    """The worker's own path: Faust (mode) sets up the root logger, `QuietWorker` formats it (no broker needed)."""
    import subprocess

    code = ("import logging, faust\nfrom streams.app.worker import QuietWorker\n"
            "w = QuietWorker(faust.App('cfg-test', broker='kafka://127.0.0.1:1'), loglevel='info', quiet=True, "
            "redirect_stdouts=False)\nw.log_format = 'json'\nw._setup_logging()\n"
            "logging.getLogger('streams.app.worker').warning('restarting in %d s', 1, extra={'partition': 3})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    [line] = [json.loads(text) for text in (done.stdout + done.stderr).splitlines()]  # mode: a tty's or stderr
    assert (line["level"], line["logger"], line["message"], line["partition"]) == (
        "warning", "streams.app.worker", "restarting in 1 s", 3)


@dataclass(frozen=True)
class _Kafka:
    sasl_username: str | None = "svc"
    sasl_password: str | None = "kafka-pw"
    ssl_cafile: Path | None = Path("/etc/ca.pem")
    hidden: str = field(default="shh", repr=False)


class _Mode(Enum):
    fast = "fast"


def test_redacted_masks_secrets_by_name_and_hidden_fields_but_not_where_they_are() -> None:
    shown = redacted({"kafka": _Kafka(), "urls": ["https://u:p@h/x"], "mode": _Mode.fast,
                      "grafana_token_file": Path("/run/secrets/t"), "api_key": 42})
    assert shown == {"kafka": {"sasl_username": "svc", "sasl_password": MASK, "ssl_cafile": "/etc/ca.pem",
                               "hidden": MASK},
                     "urls": [f"https://{MASK}@h/x"], "mode": "fast", "grafana_token_file": "/run/secrets/t",
                     "api_key": MASK}


# --- docs/configuration.md: the settings tables, generated from the commands


def settings_of(command: typer.core.TyperGroup | typer.core.TyperCommand, path: tuple[str, ...],
                ) -> dict[str, list[typer.core.TyperOption]]:
    """Per command path (`cckpi worker`), its options that have a variable, in the order of `--help`."""
    found: dict[str, list[typer.core.TyperOption]] = {}
    commands = getattr(command, "commands", None)  # a group (Typer carries its own copy of Click's classes)
    if commands is not None:
        for name in sorted(commands):
            found |= settings_of(commands[name], (*path, name))
        return found
    options = [p for p in command.params if p.param_type_name == "option" and p.envvar]
    if options:
        found[" ".join(("cckpi", *path))] = options  # type: ignore[assignment]
    return found


def _default(option: typer.core.TyperOption) -> str:
    value = option.default
    if value is None or value == []:
        return "required" if option.required else "—"
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, Enum):
        value = value.value
    return f"`{value}`"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def settings_tables() -> str:
    """The generated part of docs/configuration.md: one table per command (flag, variable, default, meaning)."""
    out: list[str] = []
    for path, options in settings_of(typer.main.get_command(app), ()).items():
        out += [f"### `{path}`", "", "| Flag | Variable | Default | Meaning |", "|---|---|---|---|"]
        for o in options:
            flags = ", ".join(f"`{f}`" for f in sorted(o.opts, key=len, reverse=True))
            out.append(f"| {flags} | `{o.envvar}` | {_default(o)} | {_cell(o.help)} |")
        out.append("")
    return "\n".join(out)


def _doc_parts() -> Iterator[str]:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    yield head
    yield tail


def test_the_configuration_doc_lists_every_setting_as_the_commands_define_it() -> None:
    head, tail = _doc_parts()
    expected = f"{head}{BEGIN}\n{settings_tables()}{END}{tail}"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/configuration.md is out of date: run `python -m tests.unit.test_configuration`")


if __name__ == "__main__":
    head, tail = _doc_parts()
    DOC.write_text(f"{head}{BEGIN}\n{settings_tables()}{END}{tail}", encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
