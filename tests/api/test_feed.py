"""The shared change feed: bounded memory, and the same answers from its ring as from the log."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from api_harness import ALICE, BOB, meeting, put

from tc_calendar.api.feed import ChangeFeed, ChangeSignal
from tc_calendar.model import Sensitivity
from tc_calendar.store import Store


async def test_the_ring_keeps_a_bounded_tail_and_older_cursors_are_read_from_the_log(api_store: Store) -> None:
    feed = ChangeFeed(api_store, api_store, ChangeSignal(), ring_size=10, ring_chars=10_000, read_batch=7)
    await feed.start()
    for n in range(40):
        await api_store.apply(
            [put(ALICE, meeting(f"u{n}", attendees=(BOB,))), put(BOB, meeting(f"u{n}", attendees=(BOB,)))]
        )
    assert await feed.poll_once() > 0
    assert len(feed._ring) <= 10 and feed._chars <= 10_000
    everything = [c.cursor for c in await api_store.changes_after(0, None, 1000)]
    for start in (0, everything[len(everything) // 2], everything[-3]):
        got: list[int] = []
        cursor = start
        while True:
            entries, cursor = await feed.read_after(cursor, None, 5)
            if not entries:
                break
            got.extend(e.cursor for e in entries)
        assert got == [c for c in everything if c > start]
        assert cursor == everything[-1]


async def test_a_user_filter_passes_other_users_changes_without_losing_any(api_store: Store) -> None:
    feed = ChangeFeed(api_store, api_store, ChangeSignal(), ring_size=1000)
    await feed.start()
    for n in range(10):
        await api_store.apply(
            [put(ALICE, meeting(f"u{n}", attendees=(BOB,))), put(BOB, meeting(f"u{n}", attendees=(BOB,)))]
        )
    await feed.poll_once()
    bob = [c.cursor for c in await api_store.changes_after(0, {BOB}, 1000)]
    entries, cursor = await feed.read_after(0, frozenset({BOB}), 1000)
    assert [e.cursor for e in entries] == bob and all(e.user == BOB for e in entries)
    assert cursor == feed.head


async def test_caught_up_subscribers_share_a_frame_only_with_peers_that_see_private_meetings_alike(
    api_store: Store,
) -> None:
    feed = ChangeFeed(api_store, api_store, ChangeSignal(), ring_size=1000)
    await feed.start()
    start = feed.head
    secret = replace(meeting("private-1", attendees=(BOB,), title="Salary review"), sensitivity=Sensitivity.PRIVATE)
    await api_store.apply([put(ALICE, secret), put(BOB, secret)])
    await feed.poll_once()

    async def frame(view: str | None, users: frozenset[str] | None = None) -> dict[str, Any]:
        note = await feed.next_notification("s1", start, users, view, 200, 256 * 1024)
        assert note.text is not None and note.cursor == feed.head and not note.more
        return dict(json.loads(note.text))

    def titles(doc: dict[str, Any]) -> dict[str, str]:
        return {c["user"]: c["occurrence"]["title"] for c in doc["params"]["changes"]}

    server = await frame("*")
    assert titles(server) == {ALICE: "Salary review", BOB: "Salary review"}
    assert await frame("*") == server  # a second TrueConf Server gets the same frame
    assert titles(await frame(BOB)) == {ALICE: "Private appointment", BOB: "Salary review"}
    assert titles(await frame("admin")) == {ALICE: "Private appointment", BOB: "Private appointment"}
    assert titles(await frame(None, frozenset({ALICE}))) == {ALICE: "Private appointment"}
    assert titles(await frame("*")) == titles(server)  # the masked frames did not replace the full one
