"""``tc_calendar status`` as an administrator runs it: on a fresh installation, after ``db upgrade`` and
registration, against a PostgreSQL server that cannot be reached, and piped into ``head``."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tc_calendar.crypto import SecretBox
from tc_calendar.licensing import Edition, Licence, sign_licence
from tc_calendar.licensing.registration import Installation


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_CALENDAR_")}
    return subprocess.run([sys.executable, "-m", "tc_calendar", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def write_config(directory: Path, **more: object) -> Path:
    box = SecretBox.load_or_create(directory / "calendar.key")
    document = {
        "launchConference": False,
        "productWhitelist": {"tcs": ["tcs.example.com#vcs"]},
        "calendarProviders": [{
            "host": "exchange.example.com",
            "credentials": [{"login": "svc", "password": box.encrypt("pw")}],
            "users": ["alice@example.com", "bob@example.com"],
        }],
        **more,
    }
    config = directory / "config.json"
    config.write_text(json.dumps(document, indent=2))
    return config


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: held by a socket that never listens."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word, like a server that hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_status_on_a_fresh_installation_says_how_to_initialize_the_database(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"tc_calendar: the database is not initialized: the SQLite database {tmp_path / 'calendar.db'} (sqlitePath) "
        "has no tc-calendar tables yet; run tc_calendar db upgrade, or start the service, which does it"
    ]
    assert not (tmp_path / "calendar.db").exists()


def test_status_after_db_upgrade_lists_the_configured_users_as_pending(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_cli("db", "upgrade", "--config", str(config)).returncode == 0
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Mailboxes: 2 (2 pending); change log at cursor 0\n")
    rows = [line.split() for line in result.stdout.splitlines() if "@example.com" in line]
    assert rows == [["alice@example.com", "pending", "users", "0", "never"],
                    ["bob@example.com", "pending", "users", "0", "never"]]
    assert "No mailboxes yet" not in result.stdout


def test_status_after_offline_registration_shows_the_installed_licence(tmp_path: Path) -> None:
    manager_key = Ed25519PrivateKey.generate()
    public_key = base64.b64encode(manager_key.public_key().public_bytes_raw()).decode()
    config = write_config(tmp_path, registration={"server": "http://127.0.0.1:9", "publicKey": public_key})
    now = datetime.now(UTC)
    licence = Licence(Edition.STANDARD, 300, "STD-0001", Installation.from_config(config).fingerprint,
                      now - timedelta(hours=1), now + timedelta(days=365))
    (tmp_path / "regoffline2.crg").write_text(sign_licence(licence, manager_key))
    assert run_cli("db", "upgrade", "--config", str(config)).returncode == 0
    registered = run_cli("--config", str(config), "--offline_reg", str(tmp_path / "regoffline2.crg"))
    assert registered.returncode == 0, registered.stderr

    result = run_cli("status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    licence_line = result.stdout.splitlines()[-1]
    assert licence_line.startswith("Licence: standard edition (300 accounts), valid until "), licence_line
    assert "not checked yet" not in result.stdout


def test_status_names_the_postgresql_server_that_refuses_connections(tmp_path: Path, refusing_port: int) -> None:
    config = write_config(tmp_path, dbConnectionConfig={"host": "127.0.0.1", "port": refusing_port,
                                                        "user": "bridge", "password": "", "database": "calendar"})
    for command in (["status"], ["db", "upgrade"]):
        result = run_cli(*command, "--config", str(config))
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"tc_calendar: cannot connect to the database: PostgreSQL at 127.0.0.1:{refusing_port} "
            f"(dbConnectionConfig.host and .port in {config}) refused the connection; check that PostgreSQL runs "
            "there and listens on that port"
        ], command


def test_the_service_names_the_postgresql_server_that_refuses_connections(
    tmp_path: Path, refusing_port: int
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        ws_port = probe.getsockname()[1]
    config = write_config(tmp_path, wsPort=ws_port, api={"host": "127.0.0.1"},
                          dbConnectionConfig={"host": "127.0.0.1", "port": refusing_port, "user": "bridge",
                                              "password": "", "database": "calendar"})
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"tc_calendar: cannot connect to the database: PostgreSQL at 127.0.0.1:{refusing_port} "
        f"(dbConnectionConfig.host and .port in {config}) refused the connection; check that PostgreSQL runs "
        "there and listens on that port"
    )


def test_status_gives_up_soon_on_a_postgresql_server_that_does_not_answer(tmp_path: Path, silent_port: int) -> None:
    """The database driver alone would wait a minute; the bound here is generous for a busy machine."""
    config = write_config(tmp_path, dbConnectionConfig={"host": "127.0.0.1", "port": silent_port,
                                                        "user": "bridge", "password": "", "database": "calendar"})
    result = run_cli("status", "--config", str(config), timeout=45)
    assert result.returncode == 1
    assert f"PostgreSQL at 127.0.0.1:{silent_port} (dbConnectionConfig.host and .port" in result.stderr
    assert "did not answer within" in result.stderr


def test_status_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    """``tc_calendar status | head -1``: the reader is gone before status writes; no traceback, no error line."""
    config = write_config(tmp_path)
    assert run_cli("db", "upgrade", "--config", str(config)).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_CALENDAR_")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # like head after its first line: nobody reads any more
    try:
        process = subprocess.run([sys.executable, "-m", "tc_calendar", "status", "--config", str(config)],
                                 stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=60,
                                 check=False)
    finally:
        os.close(write_end)
    assert process.stderr == ""
    assert process.returncode == 141
