"""The tc_calendar command: the seed's flags, check-config, and how every command fails (one line, no traceback)."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tc_calendar import __version__
from tc_calendar.cli import UnavailableError, _entry_point, main
from tc_calendar.config import Settings, load_settings
from tc_calendar.crypto import SecretBox

TOKEN_LINE = re.compile(r"^Your encrypted data: (dGNf[A-Za-z0-9+/=]+)$")


@pytest.fixture(autouse=True)
def _clean_environment_and_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TC_CALENDAR_CONFIG", raising=False)
    monkeypatch.delenv("TC_CALENDAR_KEY_FILE", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_CALENDAR_")}
    return subprocess.run(
        [sys.executable, "-m", "tc_calendar", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def config_text(password_token: str, extra: str = "") -> str:
    return f"""{{
  // written by the test, with a comment and a trailing comma as in the guide
  "productWhitelist": {{"tcs": ["tcs.example.com#vcs"]}},
  {extra}
  "calendarProviders": [
    {{"host": "exchange.example.com",
      "credentials": [{{"login": "svc-calendar", "password": "{password_token}"}}],
      "users": ["alice@example.com", "bob@example.com"],}},
  ],
}}
"""


def test_hash_pass_round_trips_through_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    result = run_cli("--config", str(config), "--hash_pass", "first-pw", "second pw")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    tokens = [TOKEN_LINE.match(line).group(1) for line in lines]  # type: ignore[union-attr]
    assert all(token.startswith("dGNf") for token in tokens)
    key_file = tmp_path / "calendar.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    config.write_text(config_text(tokens[1]))
    settings = load_settings(config)
    assert settings.calendar_providers[0].credentials[0].password.get_secret_value() == "second pw"
    assert SecretBox.load(key_file).decrypt(tokens[0]) == "first-pw"


def test_hash_pass_says_which_key_file_it_created_and_then_which_it_used(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "config.json"
    key_file = tmp_path / "etc" / "calendar.key"
    first = run_cli("--config", str(config), "--hash_pass", "pw")
    assert first.returncode == 0, first.stderr
    assert TOKEN_LINE.match(first.stdout.strip())
    assert f"created the key file {key_file} (mode 0600)" in first.stderr
    second = run_cli("--config", str(config), "--hash_pass", "pw")
    assert second.returncode == 0, second.stderr
    assert f"encrypted with the key file {key_file}" in second.stderr
    assert "created" not in second.stderr


def test_hash_pass_refuses_a_command_name_among_the_passwords(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    result = run_cli("--config", str(config), "--hash_pass", "x", "check-config")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tc_calendar: 'check-config' is a command, not a password: --hash_pass encrypts every word after it and "
        "cannot be combined with a command; run tc_calendar check-config on its own"
    ]
    assert not (tmp_path / "calendar.key").exists()


def test_check_config_prints_a_summary_without_secrets_and_exits_0(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    db = f'"dbConnectionConfig": {{"host": "db.internal", "port": 5441, "user": "bridge", "password": "{box.encrypt("db-Secret-1")}", "database": "calendar"}},'  # noqa: E501
    trueconf = f'"trueconf": {{"url": "https://tcs.example.com", "clientId": "cal", "clientSecret": "{box.encrypt("tc-Secret-2")}"}},'  # noqa: E501
    api = f'"api": {{"secret": "{box.encrypt("api-Secret-3")}"}}, "web": {{"users": {{"admin": "{box.encrypt("web-Secret-4")}"}}}},'  # noqa: E501
    config = tmp_path / "config.json"
    config.write_text(config_text(box.encrypt("ews-Secret-5"), extra=db + trueconf + api))
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "calendarProviders[0]: ews https://exchange.example.com:443/EWS/Exchange.asmx" in out
    assert "1 credential (svc-calendar), 2 users" in out
    assert "database: postgresql, db.internal:5441, database calendar, user bridge with a password" in out
    assert "tcs.example.com#vcs" in out
    assert "launchConference true" in out
    for secret in ("db-Secret-1", "tc-Secret-2", "api-Secret-3", "web-Secret-4", "ews-Secret-5", "Secret"):
        assert secret not in out
        assert secret not in result.stderr
    assert "dGNf" not in out


def test_check_config_on_a_bad_file_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n  "wsPort": 70000,\n  "calendarProviders": []\n}\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"config error: {config} line 2: wsPort: expected an integer from 1 to 65535, got 70000"
    ]


EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "packaging" / "config.example.json"


def test_check_config_of_the_example_config_keeps_every_word_of_its_messages(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(EXAMPLE_CONFIG.read_text())
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "credentials[0].password: expected an encrypted value (starting with dGNf)" in result.stderr


def test_check_config_reports_every_problem_of_the_file_one_per_line(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(EXAMPLE_CONFIG.read_text().replace('"backward"', '"backwrad"'))
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert all(line.startswith(f"config error: {config} line ") for line in lines), result.stderr
    keys = [line.split(": ")[2] for line in lines]
    assert keys == ["cache.backwrad", "calendarProviders[0].credentials[0].password",
                    "calendarProviders[1].clientSecret", "trueconf.clientSecret",
                    "api.secret", 'api.secrets["server.trueconf.name#vcs"]', "web.users.admin"]
    assert "cache.backwrad: unknown key; did you mean backward?" in lines[0]


def test_a_token_of_another_key_file_says_it_cannot_be_decrypted(tmp_path: Path) -> None:
    foreign = SecretBox.load_or_create(tmp_path / "other.key")
    ours = SecretBox.load_or_create(tmp_path / "calendar.key")
    config = tmp_path / "config.json"
    config.write_text(config_text(foreign.encrypt("ews-pw")))
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "credentials[0].password: cannot be decrypted with the key in" in result.stderr

    db = f'"dbConnectionConfig": {{"user": "bridge", "password": "{foreign.encrypt("db-pw")}"}},'
    config.write_text(config_text(ours.encrypt("ews-pw"), extra=db))
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "dbConnectionConfig.password: cannot be decrypted with the key in" in result.stderr


def test_version_is_printed(tmp_path: Path) -> None:
    result = run_cli("--version")
    assert result.stdout.strip() == f"tc_calendar {__version__}"


def test_offline_registration_of_a_missing_file_fails_in_one_line(tmp_path: Path) -> None:
    """The registration flags are covered in tests/licensing; here only that they fail like every command."""
    result = run_cli("--config", str(tmp_path / "config.json"), "--offline_reg", str(tmp_path / "regoffline2.crg"))
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"cannot read the registration file {tmp_path / 'regoffline2.crg'}: No such file or directory"
    ]


# The rest runs in-process, which is faster; the subprocess tests above prove the entry point itself.


def test_hash_pass_uses_the_key_file_named_in_an_existing_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"keyFile": "secrets/k.key", "calendarProviders": []}')
    assert main(["--config", str(config), "--hash_pass", "pw"]) == 0
    token = capsys.readouterr().out.split()[-1]
    assert SecretBox.load(tmp_path / "secrets" / "k.key").decrypt(token) == "pw"


def test_hash_pass_prefers_key_file_option_then_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.json"
    monkeypatch.setenv("TC_CALENDAR_KEY_FILE", str(tmp_path / "env.key"))
    assert main(["--config", str(config), "--hash_pass", "a"]) == 0
    assert SecretBox.load(tmp_path / "env.key").decrypt(capsys.readouterr().out.split()[-1]) == "a"
    assert main(["--config", str(config), "--key-file", str(tmp_path / "opt.key"), "--hash_pass", "b"]) == 0
    assert SecretBox.load(tmp_path / "opt.key").decrypt(capsys.readouterr().out.split()[-1]) == "b"


def test_hash_pass_into_an_unwritable_place_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["--key-file", str(tmp_path / "file" / "k.key"), "--hash_pass", "a"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("secret error: cannot create the key file")
    assert len(err.splitlines()) == 1


def test_check_config_warns_about_unknown_keys_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n "calendarProviders": [],\n "note": "staging"\n}')
    assert main(["check-config", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert f"config warning: {config} line 3: note: unknown key, ignored" in err


def test_a_missing_config_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.json"), "check-config"]) == 2
    assert capsys.readouterr().err == (
        f"config error: {tmp_path / 'nope.json'}: the file does not exist "
        "(choose another with --config or TC_CALENDAR_CONFIG)\n"
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    config = tmp_path / "config.json"
    config.write_text(config_text(box.encrypt("ews-pw-77")))
    return config


def fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **functions: object) -> None:
    module = types.ModuleType(name)
    for attribute, value in functions.items():
        setattr(module, attribute, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_run_hands_the_loaded_settings_to_the_service(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[Settings] = []
    fake_module(monkeypatch, "tc_calendar.service", run=lambda settings: received.append(settings) or 0)
    assert main(["run", "--config", str(config_file)]) == 0
    assert received[0].config_path == config_file


def test_no_command_runs_the_service_as_the_seed_does(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "tc_calendar.service", run=lambda settings: 7)
    assert main(["--config", str(config_file)]) == 7


def test_status_api_secret_and_demo_are_wired(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "tc_calendar.status", show=lambda settings: 3)
    fake_module(monkeypatch, "tc_calendar.api.secret", show=lambda settings: 4)
    assert main(["api-secret", "--config", str(config_file)]) == 4
    demo_args: list[list[str]] = []
    fake_module(monkeypatch, "tc_calendar.demo", main=lambda argv: demo_args.append(argv) or 0)
    assert main(["status", "--config", str(config_file)]) == 3
    assert main(["demo", "--port", "8080", "--fast"]) == 0
    assert demo_args == [["--port", "8080", "--fast"]]


def test_db_commands_call_the_migrations_with_the_database_url(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, str, str]] = []
    fake_module(
        monkeypatch,
        "tc_calendar.store.migrate",
        upgrade=lambda url, revision="head": calls.append(("up", url, revision)),
        downgrade=lambda url, revision: calls.append(("down", url, revision)),
    )
    url = f"sqlite+aiosqlite:///{config_file.parent / 'calendar.db'}"
    assert main(["--config", str(config_file), "db", "upgrade"]) == 0
    assert main(["db", "upgrade", "--revision", "abc123", "--config", str(config_file)]) == 0
    assert main(["db", "downgrade", "base", "--config", str(config_file)]) == 0
    assert calls == [("up", url, "head"), ("up", url, "abc123"), ("down", url, "base")]


def test_a_command_whose_module_is_missing_is_unavailable_with_exit_2() -> None:
    with pytest.raises(UnavailableError, match="frobnicate command is not available in this installation") as caught:
        _entry_point("tc_calendar.no_such_module", "run", "frobnicate")
    assert caught.value.exit_code == 2
    with pytest.raises(UnavailableError, match=r"tc_calendar\.no_such_package\.sub is missing"):
        _entry_point("tc_calendar.no_such_package.sub", "run", "frobnicate")


def test_a_command_whose_dependency_is_missing_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "feature_needing_a_package.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnavailableError, match="needs the Python package 'no_such_dependency'"):
        _entry_point("feature_needing_a_package", "run", "frobnicate")


def test_a_module_without_the_entry_function_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "tc_calendar.service")
    with pytest.raises(UnavailableError, match=r"tc_calendar\.service\.run is missing"):
        _entry_point("tc_calendar.service", "run", "run")


def test_an_unexpected_failure_is_one_line_without_the_secret(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(settings: Settings) -> int:
        raise RuntimeError("login failed for svc with ews-pw-77\nsecond line")

    fake_module(monkeypatch, "tc_calendar.service", run=explode)
    assert main(["run", "--config", str(config_file)]) == 1
    err = capsys.readouterr().err
    assert "ews-pw-77" not in err
    assert err.splitlines()[-1] == (
        "tc_calendar: unexpected error: RuntimeError: login failed for svc with *** second line "
        "(run with --log-level debug for details)"
    )


def test_the_traceback_of_an_unexpected_failure_is_logged_at_debug_level(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(settings: Settings) -> int:
        raise RuntimeError("boom")

    fake_module(monkeypatch, "tc_calendar.service", run=explode)
    assert main(["run", "--log-level", "debug", "--config", str(config_file)]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("tc_calendar: unexpected error: RuntimeError: boom")


def test_seed_flags_and_commands_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--register", "KEY", "check-config"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_usage_mistakes_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["no-such-command"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "(see tc_calendar --help)" in err
