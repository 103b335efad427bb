"""Mailboxes asked for on demand: an address Exchange does not know is refused and forgotten, and a mailbox
nobody asks for any more is dropped.

Given a connector licensed for three accounts, with Alice and Bob configured, and Exchange (simulator) that
knows Carol too, a client asking for many addresses Exchange does not know gets "unknown user" for each, none of
them is kept or counts against the licence, and Carol, asked for afterwards, gets the one slot left.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_service_end_to_end import ALICE, BOB, WEB_LOGIN, WEB_PASSWORD, exchange, quick_sync, write_config

from ews_sim.server import EwsSimulator
from tc_calendar.api.client import ApiClient, RpcError, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.service import running_connector
from tc_calendar.store import Store, upgrade_async

__all__ = ["exchange"]  # the fixture

UNKNOWN_USER = -32010
OVER_ACCOUNT_LIMIT = -32011
DAVE = "dave@corp.test"


def window(user: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"user": user, "start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(days=7)).isoformat()}


async def test_addresses_exchange_does_not_know_are_refused_forgotten_and_take_no_licence_slot(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    carol = "carol@corp.test"
    exchange.world.add_mailbox(carol, "Carol Clark", "Europe/Berlin")
    exchange.world.add_mailbox(DAVE, "Dave Dunn", "Europe/Berlin")
    exchange.world.create_meeting(carol, "Carol's review", start, start + timedelta(minutes=30))
    config = write_config(tmp_path, exchange, accountLimit=3)
    settings = load_settings(config)
    bogus = [f"nobody{n}@corp.test" for n in range(10)]

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        await connector.sync.wait_synced(within=30)
        async with await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) as client:
            for address in bogus:
                with pytest.raises(RpcError) as refused:
                    await client.call("calendar.list", window(address))
                assert refused.value.code == UNKNOWN_USER, refused.value
                assert refused.value.data == {"user": address}
            known = {user["email"] for user in (await client.call("users.list", {}))["users"]}
            assert known == {ALICE, BOB}  # nothing kept of the unknown addresses

            carol_window = {**window(carol), "end": (start + timedelta(days=1)).isoformat()}
            listed = await client.call("calendar.list", carol_window)  # not over the limit: no slot was taken
            assert listed["status"] in ("queued", "synced")
            for _ in range(300):
                if listed["status"] == "synced" and listed["occurrences"]:
                    break
                await asyncio.sleep(0.1)
                listed = await client.call("calendar.list", carol_window)
            assert [o["title"] for o in listed["occurrences"]] == ["Carol's review"]
            known = {user["email"] for user in (await client.call("users.list", {}))["users"]}
            assert known == {ALICE, BOB, carol}

            # With every slot taken, an unknown address is still refused as unknown, and not kept over the limit;
            # a real mailbox is told it is over the limit and waits for room.
            for address in bogus[:3]:
                with pytest.raises(RpcError) as refused:
                    await client.call("calendar.list", window(address))
                assert refused.value.code == UNKNOWN_USER, refused.value
            with pytest.raises(RpcError) as over:
                await client.call("calendar.list", window(DAVE))
            assert over.value.code == OVER_ACCOUNT_LIMIT
            users = {user["email"]: user["state"] for user in (await client.call("users.list", {}))["users"]}
            assert users == {ALICE: "ok", BOB: "ok", carol: "ok", DAVE: "over_limit"}


async def test_an_on_demand_mailbox_nobody_asks_for_is_dropped_after_the_idle_time(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    exchange.world.create_meeting(BOB, "Bob's review", start, start + timedelta(minutes=30))
    settings = load_settings(write_config(tmp_path, exchange))
    options = dataclasses.replace(quick_sync(), on_demand_idle=3.0, roster_refresh_interval=0.5)

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=options) as connector:
        await connector.sync.wait_synced(within=30)
        config_users = {ALICE, BOB}
        carol = "carol@corp.test"
        exchange.world.add_mailbox(carol, "Carol Clark", "Europe/Berlin")
        exchange.world.create_meeting(carol, "Carol's review", start, start + timedelta(minutes=30))
        async with await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD)) as client:
            await client.call("calendar.list", window(carol))
            await connector.sync.wait_synced([carol], within=30)
            assert await connector.store.get_mailbox(carol) is not None
            for _ in range(300):
                if await connector.store.get_mailbox(carol) is None:
                    break
                await asyncio.sleep(0.1)
            known = {user["email"] for user in (await client.call("users.list", {}))["users"]}
            assert known == config_users  # configured users are never dropped, Carol was
            carol_window = {**window(carol), "end": (start + timedelta(days=1)).isoformat()}
            assert (await connector.store.load_view(carol, start - timedelta(1), start + timedelta(1))) == []
            # Asking again brings her back.
            for _ in range(300):
                listed = await client.call("calendar.list", carol_window)
                if listed["occurrences"]:
                    break
                await asyncio.sleep(0.1)
            assert [o["title"] for o in listed["occurrences"]] == ["Carol's review"]


async def test_unknown_addresses_kept_by_an_earlier_version_are_forgotten_when_their_sync_fails(
    tmp_path: Path, exchange: EwsSimulator
) -> None:
    settings = load_settings(write_config(tmp_path, exchange, accountLimit=3))
    await upgrade_async(settings.database_url)
    async with Store.open(settings.database_url) as store:  # what an earlier version kept for good, as errors
        for address in ("ghost@corp.test", "phantom@corp.test"):
            await store.register_on_demand_mailbox(address)
            await store.record_sync_error(address, "no such mailbox on Exchange")

    async with running_connector(settings, host="127.0.0.1", port=0, sync_options=quick_sync()) as connector:
        for _ in range(300):
            if {m.email for m in await connector.store.list_mailboxes()} == {ALICE, BOB}:
                break
            await asyncio.sleep(0.1)
        assert {m.email for m in await connector.store.list_mailboxes()} == {ALICE, BOB}
