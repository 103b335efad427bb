"""A PostgreSQL outage, as an administrator reads it in the log: one line when it starts, a count while it lasts,
one line when it ends; no tracebacks and no line per retry of every loop, subscription and mailbox.

The connector reaches PostgreSQL through a TCP relay that the test cuts (every connection closed, new ones
refused) and then restores: a real outage as the driver sees it, without touching the shared server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from test_service_end_to_end import (
    BOB,
    WEB_LOGIN,
    WEB_PASSWORD,
    exchange,  # noqa: F401  (fixture)
    quick_sync,
    write_config,
)

from ews_sim.server import EwsSimulator
from tc_calendar.api.client import ApiClient, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.logging_setup import configure_logging
from tc_calendar.service import running_connector

pytestmark = pytest.mark.postgres


class Relay:
    """A TCP relay to PostgreSQL that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._open: set[asyncio.StreamWriter] = set()
        self.cut = False
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.sever()
        if self._server is not None:
            self._server.close()

    def sever(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}


@pytest.fixture
def database(postgres_server_url: str) -> Iterator[str]:
    """A new, empty database on the test server (the connector's config has no schema setting)."""
    name = f"tcc_outage_{secrets.token_hex(4)}"
    dsn = make_url(postgres_server_url).set(drivername="postgresql").render_as_string(False)

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def relay(postgres_server_url: str) -> AsyncIterator[Relay]:
    url = make_url(postgres_server_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture
def info_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    yield stream
    configure_logging("warning", stream=io.StringIO())
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


async def wait_for_health(http_url: str, status: int) -> None:
    """Until /health answers ``status`` (503 while the database is unreachable)."""
    async with asyncio.timeout(60), httpx.AsyncClient(base_url=http_url, timeout=10) as http:
        while (await http.get("/health")).status_code != status:  # noqa: ASYNC110 - polling over HTTP
            await asyncio.sleep(0.2)


async def wait_for_log(log: io.StringIO, since: int, text: str) -> None:
    """Until ``text`` is logged after position ``since`` (the loops have found the database again)."""
    async with asyncio.timeout(60):
        while text not in log.getvalue()[since:]:  # noqa: ASYNC110 - polling a log buffer
            await asyncio.sleep(0.1)


async def wait_for_quiet_log(log: io.StringIO, quiet: float = 1.0) -> None:
    """Until nothing new has been logged for ``quiet`` seconds (60 s at most)."""
    async with asyncio.timeout(60):
        while True:
            size = len(log.getvalue())
            await asyncio.sleep(quiet)
            if len(log.getvalue()) == size:
                return


async def test_a_postgresql_outage_is_logged_once_with_a_count_and_once_on_recovery(
    tmp_path: Path,
    exchange: EwsSimulator,  # noqa: F811
    database: str,
    relay: Relay,
    info_log: io.StringIO,
    postgres_server_url: str,
) -> None:
    user = make_url(postgres_server_url).username or "postgres"
    config = write_config(
        tmp_path, exchange, dbConnectionConfig={"host": "127.0.0.1", "port": relay.port, "user": user,
                                                "database": database},
    )
    settings = load_settings(config)
    configure_logging("info", stream=info_log, secrets=settings.secret_values())
    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        clients = [await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) for _ in range(3)]
        for client in clients:
            await client.subscribe([BOB])
        now = datetime.now(UTC)
        for client in clients:  # a subscriber's reads go on
            await client.call("calendar.list", {"user": BOB, "start": now.isoformat(),
                                                "end": (now + timedelta(days=7)).isoformat()})

        outage_starts = len(info_log.getvalue())
        relay.cut = True
        relay.sever()
        await wait_for_health(connector.http_url, 503)
        await asyncio.sleep(8)  # the outage lasts: every loop retries many times meanwhile
        relay.cut = False
        await wait_for_health(connector.http_url, 200)
        await wait_for_log(info_log, outage_starts, "the database works again")
        await wait_for_quiet_log(info_log)  # whatever else recovery logs is in, so too many lines are seen
        during = info_log.getvalue()[outage_starts:]
        for client in clients:
            await client.close()

    lines = during.splitlines()
    assert "Traceback" not in during
    assert sum("the database failed" in line for line in lines) == 1, during
    assert sum("the database works again" in line for line in lines) == 1, during
    assert len(lines) <= 8, during
