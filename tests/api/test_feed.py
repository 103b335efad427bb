"""The shared change feed: bounded memory, and the same answers from its ring as from the log."""

from __future__ import annotations

from api_harness import ALICE, BOB, meeting, put

from tc_calendar.api.feed import ChangeFeed, ChangeSignal
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
