"""What a monitor sees: /health, /metrics and ``tc_calendar status`` tell the same story, and a connector that can
sync nothing says so with its status code.

Given Exchange (simulator) that rejects the service account, every mailbox of that account is shown in error
together, /health answers 503, and /metrics and the status command count the same mailboxes in the same states.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from test_service_end_to_end import ALICE, BOB, exchange, quick_sync, write_config

from ews_sim.server import EwsSimulator
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.service import running_connector
from tc_calendar.status import collect, render

__all__ = ["exchange"]  # the fixture

STAFF = [f"staff{n}@corp.test" for n in range(8)]


def with_users(config: Path, users: list[str], *, password: str | None = None) -> Path:
    doc: dict[str, Any] = json.loads(config.read_text())
    provider = doc["calendarProviders"][0]
    provider["users"] = users
    if password is not None:
        provider["credentials"][0]["password"] = SecretBox.load_or_create(config.parent / "calendar.key").encrypt(
            password
        )
    config.write_text(json.dumps(doc))
    return config


def mailbox_gauge(metrics_text: str) -> dict[str, int]:
    [family] = [f for f in text_string_to_metric_families(metrics_text) if f.name == "tc_calendar_mailboxes"]
    return {sample.labels["state"]: int(sample.value) for sample in family.samples if sample.value}


async def test_a_rejected_service_account_puts_every_mailbox_in_error_at_once_and_health_fails(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    for user in STAFF:
        exchange.world.add_mailbox(user, user.split("@")[0].title(), "Europe/Berlin")
    users = [ALICE, BOB, *STAFF]
    settings = load_settings(with_users(write_config(tmp_path, exchange), users, password="not the password"))
    options = dataclasses.replace(quick_sync(), max_window_syncs=1)  # mailboxes take their turns one by one

    async with (
        running_connector(settings, host="127.0.0.1", port=0, sync_options=options) as connector,
        httpx.AsyncClient(base_url=connector.http_url) as http,
    ):
        for _ in range(600):
            health = await http.get("/health")
            states = health.json()["mailboxes"]
            if states.get("error"):
                break
            await asyncio.sleep(0.05)
        # The first sign of the rejected account already shows every mailbox of that account in error.
        assert states == {"error": len(users)}, states
        assert health.status_code == 503, health.text
        assert health.json()["status"] == "failing"
        assert mailbox_gauge((await http.get("/metrics")).text) == {"error": len(users)}

    mailboxes, launches, cursor = await collect(settings)
    report = render(mailboxes, launches, cursor, datetime.now(UTC))
    assert f"Mailboxes: {len(users)} ({len(users)} error)" in report
    assert "Synchronization is failing" in report
    assert {m.last_error for m in mailboxes} == {mailboxes[0].last_error}
    assert "rejected the credentials" in str(mailboxes[0].last_error)


async def test_health_and_metrics_count_the_same_mailboxes_from_the_start(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    settings = load_settings(write_config(tmp_path, exchange))
    async with (
        running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector,
        httpx.AsyncClient(base_url=connector.http_url) as http,
    ):
        first = mailbox_gauge((await http.get("/metrics")).text)
        assert sum(first.values()) == 2, first  # the configured mailboxes are counted from the first scrape
        await connector.sync.wait_synced(within=30)
        for _ in range(600):  # the state written with the last commit is what both report
            health = await http.get("/health")
            if health.json()["mailboxes"] == {"ok": 2}:
                break
            await asyncio.sleep(0.05)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        assert mailbox_gauge((await http.get("/metrics")).text) == {"ok": 2}
