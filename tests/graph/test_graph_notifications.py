"""Change notifications from Microsoft Graph (the simulator) to the connector's own HTTP server: the validation
handshake, notifications that only trigger delta rounds, forged ones refused, and lifecycle notifications.

The connector listens on a loopback port known before it starts, so the configured ``notificationUrl`` points at
it; the simulator may post to plain http on loopback (``allow_http_notifications``), as a local demo would.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from graph_support import ALICE, BOB, WEB_LOGIN, WEB_PASSWORD, graph_entry, make_world, write_config
from test_graph_connector import upserts

from ews_sim.world import World
from graph_sim.server import GraphSimulator
from graph_sim.testing import running as graph_running
from tc_calendar.api.client import ApiClient, WebAuth
from tc_calendar.config import load_settings
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.service import RunningConnector, running_connector
from waiting import eventually

NO_POLLING = SyncOptions(
    auto_sync=True, backward_months=1, forward_months=2, poll_interval=600.0, fallback_poll_interval=600.0
)
"""The loops' own timers out of the way: a change that arrives came by notification."""


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def graph(world: World) -> Iterator[GraphSimulator]:
    with graph_running(world, allow_http_notifications=True) as sim:
        yield sim


@dataclass
class Notified:
    connector: RunningConnector
    graph: GraphSimulator
    world: World

    def subscriptions(self, mailbox: str) -> list[str]:
        return [s["id"] for s in self.graph.subscriptions.describe() if s["mailbox"] == mailbox]


@pytest.fixture
async def notified(tmp_path: Path, world: World, graph: GraphSimulator) -> AsyncIterator[Notified]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    entry = {"notificationUrl": f"http://127.0.0.1:{port}", "pollIntervalSeconds": 600, "reconcileMinutes": 600}
    settings = load_settings(write_config(tmp_path, lambda box: [graph_entry(graph, box, [ALICE, BOB], **entry)]))
    async with running_connector(settings, sock=listener, sync_options=NO_POLLING) as connector:
        await connector.sync.wait_synced(within=30)
        found = Notified(connector, graph, world)

        async def subscribed() -> bool:
            return all(found.subscriptions(m) for m in (ALICE, BOB))

        await eventually(subscribed, what="subscriptions of both mailboxes (after the validation handshake)")
        yield found


def soon() -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


async def test_a_change_reaches_the_client_through_a_change_notification(notified: Notified) -> None:
    client = await ApiClient.connect(notified.connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
    try:
        subscription = await client.subscribe([BOB])
        start = soon()
        notified.world.create_meeting(ALICE, "Design review", start, start + timedelta(hours=1), required=[BOB])
        change = (await upserts(subscription, {BOB}, "Design review"))[BOB]
        assert change["occurrence"]["organizer"]["email"] == ALICE
    finally:
        await client.close()


async def test_the_validation_handshake_is_echoed_and_a_forged_notification_is_refused_and_logged(
    notified: Notified, caplog: pytest.LogCaptureFixture
) -> None:
    [bob_subscription] = notified.subscriptions(BOB)
    async with httpx.AsyncClient(base_url=notified.connector.http_url) as http:
        handshake = await http.post("/graph/notifications", params={"validationToken": "Validation: token 42"})
        assert (handshake.status_code, handshake.text) == (200, "Validation: token 42")
        assert handshake.headers["content-type"].startswith("text/plain")
        with caplog.at_level(logging.WARNING, logger="tc_calendar.providers.graph_notifications"):
            forged = await http.post(
                "/graph/notifications",
                json={"value": [{"subscriptionId": bob_subscription, "clientState": "guessed", "changeType": "updated",
                                 "resource": f"Users/{BOB}/Events/forged"}]},
            )  # fmt: skip
    assert forged.status_code == 403
    assert "wrong clientState" in caplog.text and BOB in caplog.text


async def test_a_removed_subscription_is_replaced_and_changes_keep_arriving(notified: Notified) -> None:
    [old] = notified.subscriptions(BOB)
    notified.graph.subscriptions.lifecycle("subscriptionRemoved", mailbox=BOB)

    async def replaced() -> bool:
        return bool(notified.subscriptions(BOB)) and old not in notified.subscriptions(BOB)

    await eventually(replaced, what="a new subscription for bob")
    client = await ApiClient.connect(notified.connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
    try:
        subscription = await client.subscribe([BOB])
        start = soon() + timedelta(hours=2)
        notified.world.create_meeting(ALICE, "After the lifecycle", start, start + timedelta(hours=1), required=[BOB])
        await upserts(subscription, {BOB}, "After the lifecycle")
    finally:
        await client.close()


async def test_missed_and_reauthorization_lifecycle_notifications_run_a_delta_round_and_renew(
    notified: Notified,
) -> None:
    [subscription_id] = notified.subscriptions(BOB)
    renewals, rounds = _renewals(notified), _delta_rounds(notified, BOB)
    notified.graph.subscriptions.lifecycle("reauthorizationRequired", mailbox=BOB)

    async def renewed() -> bool:
        return _renewals(notified) > renewals and _delta_rounds(notified, BOB) > rounds

    await eventually(renewed, what="a renewed subscription and a delta round")
    rounds = _delta_rounds(notified, BOB)
    notified.graph.subscriptions.lifecycle("missed", mailbox=BOB)

    async def caught_up() -> bool:
        return _delta_rounds(notified, BOB) > rounds

    await eventually(caught_up, what="a delta round after missed notifications")
    assert notified.subscriptions(BOB) == [subscription_id]


def _renewals(notified: Notified) -> int:
    operations = notified.graph.gate.counters()["operations"]
    return sum(
        counts.get("200", 0) for operation, counts in operations.items() if operation.startswith("subscriptions.")
        and operation.endswith(("update", "reauthorize"))
    )  # fmt: skip


def _delta_rounds(notified: Notified, mailbox: str) -> int:
    by_mailbox = notified.graph.gate.counters()["mailboxes"].get(mailbox, {})
    return sum(n for operation, n in by_mailbox.items() if "delta" in operation.lower())



async def test_each_mailbox_is_subscribed_before_its_first_delta_round_so_no_catch_up_round_is_needed(
    notified: Notified,
) -> None:
    """The first delta round waits for the mailbox's subscription: a change after the subscription is notified,
    one before it is in the round. Initial sync: one delta page and one subscription per mailbox, nothing more;
    and a change made at once after it still reaches the client."""
    by_mailbox = notified.graph.gate.counters()["mailboxes"]
    for mailbox in (ALICE, BOB):
        rounds = sum(n for operation, n in by_mailbox[mailbox].items() if "delta" in operation.lower())
        assert rounds == 1, by_mailbox[mailbox]
    client = await ApiClient.connect(notified.connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
    try:
        subscription = await client.subscribe([BOB])
        start = soon() + timedelta(hours=4)
        notified.world.create_meeting(ALICE, "Right after the first sync", start, start + timedelta(hours=1),
                                      required=[BOB])
        await upserts(subscription, {BOB}, "Right after the first sync")
    finally:
        await client.close()


async def test_a_mailbox_whose_subscription_failed_is_subscribed_again_with_back_off_and_notified(
    tmp_path: Path, world: World, graph: GraphSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Graph refuses Bob's subscription once (503) while Alice's is made: Bob is subscribed again within seconds
    (not at the next reconcile, hours later), the failure is logged naming him, and his changes are notified."""
    caplog.set_level(logging.INFO, logger="tc_calendar")
    graph.gate.add_fault(503, count=1, mailbox=BOB, operation="subscriptions.create")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    entry = {
        "notificationUrl": f"http://127.0.0.1:{listener.getsockname()[1]}",
        "pollIntervalSeconds": 600, "reconcileMinutes": 600,
    }
    settings = load_settings(write_config(tmp_path, lambda box: [graph_entry(graph, box, [ALICE, BOB], **entry)]))
    async with running_connector(settings, sock=listener, sync_options=NO_POLLING) as connector:
        await connector.sync.wait_synced(within=30)
        found = Notified(connector, graph, world)

        async def both_subscribed() -> bool:
            return bool(found.subscriptions(ALICE)) and bool(found.subscriptions(BOB))

        await eventually(both_subscribed, within=30, what="Bob's subscription made again after the 503")
        assert graph.gate.counters()["operations"]["subscriptions.create"]["503"] == 1
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and BOB in r.getMessage()]
        assert any("cannot subscribe" in line and "ServiceUnavailable" in line for line in warnings), warnings

        client = await ApiClient.connect(connector.url, WebAuth(WEB_LOGIN, WEB_PASSWORD))
        try:
            subscription = await client.subscribe([BOB])
            start = soon()
            world.create_meeting(BOB, "After the 503", start, start + timedelta(hours=1))
            await upserts(subscription, {BOB}, "After the 503")
        finally:
            await client.close()
