"""Secrets stay secret: never in the log at any level, encrypted in the database, and in files only their owner reads.

The generated API secret lets its holder act as TrueConf Server and derives the web session key, so it is as
sensitive as the passwords in config.json: a reader of a debug log or of the database file must learn neither.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_service_end_to_end import (
    ALICE,
    BOB,
    SERVICE_PASSWORD,
    WEB_LOGIN,
    WEB_PASSWORD,
    exchange,  # noqa: F401  (fixture)
    quick_sync,
    write_config,
)

from ews_sim.server import EwsSimulator
from tc_calendar.api.auth import derive_token_key
from tc_calendar.api.client import ApiClient, ServerAuth, TokenAuth, WebAuth
from tc_calendar.api.secret import META_KEY, stored_secret
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox, looks_encrypted
from tc_calendar.logging_setup import configure_logging
from tc_calendar.service import running_connector

SERVER_ID = "tcs.corp.test#vcs"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The root logger at debug, as ``tc_calendar run --log-level debug`` sets it; restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    yield stream
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    configure_logging("warning", stream=io.StringIO())
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)


def stored_api_secret(database: Path) -> str:
    with sqlite3.connect(database) as db:
        [(value,)] = db.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchall()
    return str(value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_debug_log_of_a_working_connector_holds_none_of_its_secrets(
    tmp_path: Path, exchange: EwsSimulator, debug_log: io.StringIO  # noqa: F811
) -> None:
    settings = load_settings(write_config(tmp_path, exchange))
    configure_logging("debug", stream=debug_log, secrets=settings.secret_values())
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        api_secret = await stored_secret(settings)  # what `tc_calendar api-secret` prints
        assert api_secret is not None
        async with await ApiClient.connect(connector.url, ServerAuth(SERVER_ID, api_secret)) as server:
            await server.call("users.list")
        web = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        assert web.session is not None
        token = str(web.session["token"])
        await web.close()
        async with await ApiClient.connect(connector.url, TokenAuth(token)) as resumed:
            await resumed.call("calendar.list", {"user": BOB, "start": "2026-01-01T00:00:00Z",
                                                 "end": "2026-02-01T00:00:00Z"})
    log = debug_log.getvalue()
    assert " DEBUG tc_calendar." in log and ALICE in log  # the work done was logged, at debug
    token_key = derive_token_key(api_secret)
    secrets = {
        "API secret": api_secret,
        "service account password": SERVICE_PASSWORD,
        "web password": WEB_PASSWORD,
        "web session token": token,
        "web session token signature": token.split(".")[1],
        "session key (hex)": token_key.hex(),
        "session key (base64)": base64.b64encode(token_key).decode().rstrip("="),
    }
    leaked = sorted(name for name, value in secrets.items() if value in log)
    assert leaked == []


async def test_the_generated_api_secret_is_stored_encrypted_and_the_database_files_are_owner_only(
    tmp_path: Path, exchange: EwsSimulator  # noqa: F811
) -> None:
    settings = load_settings(write_config(tmp_path, exchange))
    old_umask = os.umask(0o022)
    try:
        async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
            await connector.sync.wait_synced(within=30)
            database = settings.sqlite_file
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), settings.key_file]
            assert {str(path.name): mode(path) for path in files} == {str(path.name): 0o600 for path in files}
    finally:
        os.umask(old_umask)
    stored = stored_api_secret(settings.sqlite_file)
    assert looks_encrypted(stored)
    secret = SecretBox.load(settings.key_file).decrypt(stored)
    assert len(secret) >= 43 and secret not in settings.sqlite_file.read_bytes().decode("latin-1")


async def test_an_api_secret_stored_in_plain_text_by_an_earlier_version_is_kept_and_encrypted(
    tmp_path: Path, exchange: EwsSimulator  # noqa: F811
) -> None:
    settings = load_settings(write_config(tmp_path, exchange))
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()):
        pass
    legacy = "plain-secret-from-an-earlier-version-0123456789abcdef"
    with sqlite3.connect(settings.sqlite_file) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (legacy, META_KEY))
    settings.sqlite_file.chmod(0o644)

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        async with await ApiClient.connect(connector.url, ServerAuth(SERVER_ID, legacy)) as server:
            await server.call("users.list")
        assert mode(settings.sqlite_file) == 0o600
    stored = stored_api_secret(settings.sqlite_file)
    assert looks_encrypted(stored)
    assert SecretBox.load(settings.key_file).decrypt(stored) == legacy
