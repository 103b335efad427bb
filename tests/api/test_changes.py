"""Change feed: every change after a cursor exactly once, in order, across disconnects; slow clients resume."""

from __future__ import annotations

import asyncio
import re
import socket
from urllib.parse import urlsplit

from api_harness import ALICE, BOB, MONDAY_9, Harness, meeting, put, running_api

from tc_calendar.api.client import ApiClient, ChangeFollower, Disconnected
from tc_calendar.api.limits import ApiLimits
from tc_calendar.model import Response
from tc_calendar.store import Store
from tc_calendar.sync.actions import PutOccurrence


def numbered(n: int, *, description: str = "d") -> PutOccurrence:
    return put(ALICE, meeting(f"uid-{n}", attendees=(), description=description))


async def write_changes(api: Harness, first: int, count: int, batch: int = 10, pause: float = 0.0) -> None:
    for start in range(first, first + count, batch):
        await api.apply(*(numbered(n) for n in range(start, min(start + batch, first + count))))
        if pause:
            await asyncio.sleep(pause)


async def test_a_subscriber_gets_an_upsert_with_the_new_state_and_its_own_response(api: Harness) -> None:
    async with await ApiClient.connect(api.url, api.auth) as client:
        sub = await client.subscribe([BOB])
        await api.apply(put(ALICE, meeting("m")), put(BOB, meeting("m"), Response.TENTATIVE))
        note = await asyncio.wait_for(anext(aiter(sub)), 30)
    [change] = note["changes"]
    assert change["user"] == BOB and change["kind"] == "upsert" and note["cursor"] == change["cursor"]
    assert change["occurrence"]["myResponse"] == "Tentative"
    assert change["occurrence"]["start"] == "2026-06-29T09:00:00Z"


async def test_1000_changes_arrive_exactly_once_in_order_while_the_client_drops_and_resumes(store: Store) -> None:
    """On SQLite and on PostgreSQL (where cursor order must equal commit order)."""
    async with running_api(store, limits=ApiLimits(max_changes_per_notification=25)) as api:
        await _exactly_once(api)


async def _exactly_once(api: Harness) -> None:
    """Ten rounds of 100 changes from two concurrent writers; in each round the connection is lost mid-stream."""
    start = await api.store.latest_cursor()
    follower = ChangeFollower(api.url, api.auth, users="*", cursor=start, retry_delay=0.01, queue_size=2)
    changes = aiter(follower)
    received: list[int] = []
    async with asyncio.timeout(60):
        for round_ in range(10):
            first = round_ * 100
            writers = asyncio.gather(  # two writers at once: cursor order must still be commit order
                write_changes(api, first, 50, batch=10, pause=0.002),
                write_changes(api, first + 50, 50, batch=10, pause=0.002),
            )
            dropped = False
            while len(received) < first + 100:
                received.append((await anext(changes))["cursor"])
                client = follower.client
                if not dropped and len(received) >= first + 30 and client is not None:
                    if round_ % 2:
                        client.ws.transport.abort()  # the network dies
                    else:
                        await client.ws.close()  # the client restarts
                    dropped = True
            await writers
    await changes.aclose()  # type: ignore[attr-defined]
    expected = [c.cursor for c in await api.store.changes_after(start, None, 5000)]
    assert len(expected) == 1000
    assert received == expected
    assert follower.reconnects >= 9


async def test_a_slow_client_is_disconnected_with_the_cursor_to_resume_from_and_resumes(api_store: Store) -> None:
    limits = ApiLimits(send_queue_messages=2, slow_client_timeout=0.3, max_changes_per_notification=5)
    async with running_api(api_store, limits=limits, send_buffer=8192) as api:
        start = await api.store.latest_cursor()
        parts = urlsplit(api.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((parts.hostname, parts.port))
        slow = await ApiClient.connect(api.url, api.auth, queue_size=1, max_queue=1, sock=sock)
        sub = await slow.subscribe("*", start)
        big = "x" * 8000
        for n in range(0, 300, 20):
            await api.apply(*(numbered(k, description=big) for k in range(n, n + 20)))
        # The client reads nothing meanwhile: long enough for the server to fill the socket and its queue and then
        # wait out slow_client_timeout (on a loaded 2-core machine that took up to 2 s). Were the client to read
        # before the server gives up, it would keep up and never be disconnected.
        await asyncio.sleep(5.0)
        got: list[int] = []
        async with asyncio.timeout(20):
            try:
                async for note in sub:
                    got.extend(c["cursor"] for c in note["changes"])
            except Disconnected as closed:
                disconnect = closed
        assert disconnect.code == 4008
        match = re.fullmatch(r"too slow; resume from cursor (\d+)", disconnect.reason)
        assert match and int(match.group(1)) == got[-1]
        await slow.close()

        follower = ChangeFollower(api.url, api.auth, users="*", cursor=got[-1])  # resumes again if kicked again
        async with asyncio.timeout(30):
            async for change in follower:
                got.append(change["cursor"])
                if len(got) >= 300:
                    break
        expected = [c.cursor for c in await api.store.changes_after(start, None, 5000)]
        assert got == expected


async def test_subscribing_with_a_cursor_ahead_of_the_log_says_the_log_was_reset(api: Harness) -> None:
    from tc_calendar.api.client import RpcError

    async with await ApiClient.connect(api.url, api.auth) as client:
        try:
            await client.subscribe("*", 10_000)
        except RpcError as error:
            assert error.code == -32602 and error.data == {"latest": 0}
        else:
            raise AssertionError("expected a refusal")


async def test_resuming_from_a_cursor_whose_changes_were_pruned_says_to_reload(api: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    from tc_calendar.api.client import RpcError

    first = await api.apply(put(ALICE, meeting("uid-old")))
    latest = await api.apply(put(ALICE, meeting("uid-new", start=MONDAY_9 + timedelta(days=1))))
    assert await api.store.prune_changes(datetime.now(UTC) + timedelta(seconds=1)) == 2

    async with await ApiClient.connect(api.url, api.auth) as client:
        try:
            await client.subscribe("*", first - 1)
        except RpcError as error:
            assert error.code == -32016 and error.data == {"latest": latest}
        else:
            raise AssertionError("expected a refusal")
        await client.subscribe("*", latest)  # a client that had seen everything resumes as usual


async def test_unsubscribe_stops_notifications_and_unknown_ids_are_32012(api: Harness) -> None:
    from tc_calendar.api.client import RpcError

    async with await ApiClient.connect(api.url, api.auth) as client:
        sub = await client.subscribe("*")
        result = await sub.unsubscribe()
        assert result["subscription"] == sub.id
        try:
            await sub.unsubscribe()
        except RpcError as error:
            assert error.code == -32012
        await api.apply(put(ALICE, meeting("later", start=MONDAY_9)))
        await asyncio.sleep(0.2)
        assert sub.queue.empty()


async def test_a_commit_wakes_the_feed_at_once_without_waiting_for_the_poll(api_store: Store) -> None:
    limits = ApiLimits(poll_interval=60.0)
    async with running_api(api_store, limits=limits) as api, await ApiClient.connect(api.url, api.auth) as client:
        sub = await client.subscribe("*")
        await asyncio.sleep(0.1)  # the feed is asleep until the next poll, a minute away
        cursor = await api.apply(put(ALICE, meeting("woken")))
        note = await asyncio.wait_for(anext(aiter(sub)), 20)  # well before the poll
    assert note["cursor"] == cursor


async def test_big_changes_are_split_over_notifications_of_bounded_size(api_store: Store) -> None:
    limits = ApiLimits(max_notification_chars=20_000)
    async with running_api(api_store, limits=limits) as api:
        start = await api.store.latest_cursor()
        async with await ApiClient.connect(api.url, api.auth) as client:
            sub = await client.subscribe("*", start)
            await api.apply(*(numbered(n, description="y" * 8000) for n in range(12)))
            got: list[int] = []
            sizes: list[int] = []
            async with asyncio.timeout(10):
                async for note in sub:
                    sizes.append(len(note["changes"]))
                    got.extend(c["cursor"] for c in note["changes"])
                    if len(got) == 12:
                        break
    assert got == [c.cursor for c in await api_store.changes_after(start, None, 100)]
    assert max(sizes) <= 2 and len(sizes) >= 6


async def test_a_connection_may_hold_a_bounded_number_of_subscriptions(api_store: Store) -> None:
    from tc_calendar.api.client import RpcError

    limits = ApiLimits(max_subscriptions=2)
    async with running_api(api_store, limits=limits) as api, await ApiClient.connect(api.url, api.auth) as client:
        first = await client.subscribe("*")
        await client.subscribe([ALICE])
        try:
            await client.subscribe([BOB])
        except RpcError as error:
            assert error.code == -32008
        else:
            raise AssertionError("expected -32008")
        await first.unsubscribe()
        await client.subscribe([BOB])


async def test_the_subscribe_answer_comes_before_the_first_notification(api: Harness) -> None:
    import json

    start = await api.store.latest_cursor()
    await write_changes(api, 0, 30)
    async with await ApiClient.connect(api.url, api.auth) as client:
        client._reader.cancel()  # read the raw frames ourselves
        await asyncio.sleep(0)
        await client.ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 77, "method": "changes.subscribe", "params": {"users": "*", "cursor": start}}
            )
        )
        first = json.loads(await asyncio.wait_for(client.ws.recv(), 30))
        second = json.loads(await asyncio.wait_for(client.ws.recv(), 30))
    assert first["id"] == 77 and first["result"]["cursor"] == start
    assert second["method"] == "changes.notify" and second["params"]["changes"][0]["cursor"] == start + 1
