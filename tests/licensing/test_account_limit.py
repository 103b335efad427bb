"""Seed 1.2 end to end: on the free edition 60 configured users meet the 50-account limit. The first 50 listed
(the whitelist order) are synchronized from Exchange (simulator); the other 10, and a user asked for on demand
afterwards, are reported over the limit by ``tc_calendar status``, the API and the metrics — never dropped."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from licensing_harness import FREE_KEY, STANDARD_KEY
from prometheus_client.parser import text_string_to_metric_families

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from reg_sim import RegServer
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.licensing.guard import LicenceGuard, licence_status_line
from tc_calendar.licensing.registration import Installation, register_online
from tc_calendar.service import running_connector
from tc_calendar.status import render, show
from tc_calendar.store.records import MailboxState

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-sync", "Sync!pass1"
# Listed in reverse alphabetical order, so "the first 50" means the order of the list, not of the addresses.
USERS = [f"user{number:02d}@corp.test" for number in range(59, -1, -1)]
LATECOMER = "late@corp.test"


@pytest.fixture
def exchange() -> Iterator[EwsSimulator]:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    for user in [*USERS, LATECOMER]:
        world.add_mailbox(user, user.split("@")[0].title(), "UTC")
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        yield sim


def write_full_config(directory: Path, exchange: EwsSimulator, reg: RegServer) -> Path:
    box = SecretBox.load_or_create(directory / "calendar.key")
    port = int(exchange.url.rsplit(":", 1)[1].split("/", 1)[0])
    config: dict[str, Any] = {
        "launchConference": False,
        "cache": {"autoSync": True, "backward": 1, "forward": 1},
        "productWhitelist": {"tcs": ["tcs.corp.test#vcs"]},
        "calendarProviders": [{
            "host": "127.0.0.1", "port": port, "scheme": "http", "exchangeVersion": "Exchange2016", "auth": "basic",
            "path": "/EWS/Exchange.asmx", "type": "ews",
            "credentials": [{"login": SERVICE_LOGIN, "password": box.encrypt(SERVICE_PASSWORD)}],
            "users": USERS,
        }],
        "registration": {"server": reg.url, "publicKey": reg.registry.public_key},
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


async def test_sixty_users_on_the_free_edition(tmp_path: Path, exchange: EwsSimulator, reg: RegServer) -> None:
    config = write_full_config(tmp_path, exchange, reg)
    await register_online(FREE_KEY, Installation.from_config(config), datetime.now(UTC))
    settings = load_settings(config)
    options = SyncOptions(auto_sync=True, backward_months=1, forward_months=1, poll_interval=30.0,
                          fallback_poll_interval=30.0)

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=options) as connector:
        await connector.sync.wait_synced(within=90)
        assert await connector.sync.request_mailbox(LATECOMER) == "over_limit"
        states = {status.email: status.state for status in await connector.store.list_mailboxes()}
        assert {email for email, state in states.items() if state is MailboxState.OK} == set(USERS[:50])
        over = {email for email, state in states.items() if state is MailboxState.OVER_LIMIT}
        assert over == {*USERS[50:], LATECOMER}

        text = render(await connector.store.list_mailboxes(), [], 0, datetime.now(UTC))
        assert f"11 mailbox(es) over the account limit are not synchronized: {', '.join(USERS[50:])}, {LATECOMER}" \
            in text

        async with httpx.AsyncClient(base_url=connector.http_url) as http:
            metrics = (await http.get("/metrics")).text
        samples = {(sample.name, sample.labels.get("state")): sample.value
                   for family in text_string_to_metric_families(metrics) for sample in family.samples}
        assert samples[("tc_calendar_mailboxes", "over_limit")] == 11
        assert samples[("tc_calendar_mailboxes", "ok")] == 50

    assert [entry.product_key for entry in reg.registry.check_ins] == [FREE_KEY]
    shown = io.StringIO()
    await asyncio.to_thread(show, settings, shown)  # tc_calendar status, after the service stopped
    assert "11 mailbox(es) over the account limit are not synchronized" in shown.getvalue()
    assert shown.getvalue().rstrip().endswith("Licence: free edition (50 accounts)")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_sync_pauses_after_the_trial_and_registering_resumes_it_with_the_new_limit(
    tmp_path: Path, exchange: EwsSimulator, reg: RegServer
) -> None:
    """Unregistered past its 7 days: the service starts, serves, but does not synchronize (/health says so); a
    standard licence registered meanwhile resumes synchronization, now for all 60 users."""
    config = write_full_config(tmp_path, exchange, reg)
    settings = load_settings(config)
    installation = Installation.from_config(config)
    clock = Clock(datetime.now(UTC) - timedelta(days=8))
    guard = LicenceGuard(installation, configured_limit=None, clock=clock, interval=timedelta(milliseconds=50))
    clock.now = datetime.now(UTC)
    options = SyncOptions(auto_sync=True, backward_months=1, forward_months=1, poll_interval=30.0,
                          fallback_poll_interval=30.0)

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=options,
                                 licence_guard=guard) as connector:
        async with httpx.AsyncClient(base_url=connector.http_url) as http:
            assert (await http.get("/health")).json()["sync"] == "stopped"
            assert "SYNCHRONIZATION PAUSED" in licence_status_line(installation)
            paused = connector.sync

            await register_online(STANDARD_KEY, installation, datetime.now(UTC))
            for _ in range(400):
                if (await http.get("/health")).json()["sync"] == "running":
                    break
                await asyncio.sleep(0.05)
            assert connector.sync is not paused
        await connector.sync.wait_synced(within=90)
        states = {status.email: status.state for status in await connector.store.list_mailboxes()}
        assert {email for email, state in states.items() if state is MailboxState.OK} == set(USERS)
        assert licence_status_line(installation).startswith("Licence: standard edition (120 accounts), valid until")
