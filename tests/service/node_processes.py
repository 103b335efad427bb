"""Connector nodes as ``tc_calendar run`` processes on one PostgreSQL schema, and WebSocket clients of them.

Shared by the several-nodes test and bench/nodes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

import waiting
from ews_sim.server import EwsSimulator
from tc_calendar.api.client import ApiClient, Disconnected, ServerAuth, Subscription
from tc_calendar.crypto import SecretBox
from tc_calendar.store import Store
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-nodes", "Nodes!pass1"
SERVER_ID, API_SECRET = "tcs.corp.test#vcs", "shared API secret of both nodes"
WITHIN = 40.0


@dataclass
class Node:
    """One ``tc_calendar run`` process."""

    name: str
    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tc_calendar", "run", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Listener:
    """A WebSocket client of one node, subscribed to every user's changes, keeping what it receives."""

    client: ApiClient
    subscription: Subscription
    changes: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _follow(self) -> None:
        with contextlib.suppress(Disconnected):  # its node was killed
            async for note in self.subscription:
                self.changes.extend(note["changes"])

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.client.close()

    def upserts(self) -> Counter[tuple[str, str]]:
        """How many times each (user, title) arrived as an upsert."""
        return Counter(
            (c["user"], c["occurrence"]["title"]) for c in self.changes if c["kind"] == "upsert" and c["occurrence"]
        )


async def listen(node: Node) -> Listener:
    async def connect() -> ApiClient | None:
        try:
            return await ApiClient.connect(node.url, ServerAuth(SERVER_ID, API_SECRET))
        except OSError:
            return None

    client = await eventually(connect, what=f"{node.name}'s API to answer")
    subscription = await client.subscribe("*")
    listener = Listener(client, subscription)
    listener.task = asyncio.create_task(listener._follow())
    return listener


async def eventually(check: Callable[[], Awaitable[Any]], *, what: str, within: float = WITHIN) -> Any:
    """:func:`waiting.eventually` at the pace of processes: asked every 0.2 s, within the nodes' bound."""
    return await waiting.eventually(check, within, what, every=0.2)


def write_config(directory: Path, key: Path, name: str, database_url: str, exchange: EwsSimulator,
                 trueconf: SimServer, port: int, users: list[str], lease_seconds: float) -> Path:
    """The config of node ``name``: ``users``' mailboxes in ``exchange``, conferences on ``trueconf``, the database
    and schema of ``database_url``, every secret encrypted with ``key`` (the nodes share it)."""
    box = SecretBox.load_or_create(key)
    database = make_url(database_url)
    directory.mkdir()
    config = {
        "wsPort": port,
        "keyFile": str(key),
        "dbConnectionConfig": {
            "host": database.host, "port": database.port or 5432, "user": database.username,
            "password": box.encrypt(database.password) if database.password else "",
            "database": database.database, "schema": database.query["schema"],
        },
        "cluster": {"nodeId": name, "leaseSeconds": lease_seconds},
        "launchConference": True,
        "cache": {"autoSync": True, "backward": 1, "forward": 2},
        "productWhitelist": {"tcs": [SERVER_ID]},
        "api": {"host": "127.0.0.1", "secret": box.encrypt(API_SECRET)},
        "trueconf": {"url": trueconf.url, "clientId": DEFAULT_CLIENT_ID,
                     "clientSecret": box.encrypt(DEFAULT_CLIENT_SECRET)},
        "calendarProviders": [{
            "host": "127.0.0.1", "port": int(exchange.url.rsplit(":", 1)[1].split("/", 1)[0]), "scheme": "http",
            "exchangeVersion": "Exchange2016", "auth": "basic", "path": "/EWS/Exchange.asmx", "type": "ews",
            "credentials": [{"login": SERVICE_LOGIN, "password": box.encrypt(SERVICE_PASSWORD)}],
            "users": users,
        }],
    }  # fmt: skip
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


async def holders(store: Store) -> dict[str, str | None]:
    """Which node holds each mailbox's lease (leases run out by the wall clock)."""
    now = datetime.now(UTC)
    return {
        s.email: s.lease_owner if s.lease_expires_at is not None and s.lease_expires_at > now else None
        for s in await store.list_mailboxes()
    }
