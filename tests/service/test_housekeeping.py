"""The database does not grow without bound: old change-log entries and launches behind the window go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tc_calendar.housekeeping import CHANGE_LOG_RETENTION, prune_once
from tc_calendar.model import ChangeKind, OccurrenceKey
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchState


async def test_entries_older_than_the_retention_and_launches_behind_the_window_are_pruned(store: Store) -> None:
    old = await store.append_change(ChangeKind.CONFERENCE_FAILED, "alice@corp.test")
    long_ago = old.at - timedelta(days=120)
    assert await store.claim_launch(OccurrenceKey("old-meeting"), "12345", long_ago, "node-a")
    await store.finish_launch(OccurrenceKey("old-meeting"), LaunchState.STARTED)
    assert await store.claim_launch(OccurrenceKey("recent-meeting"), "12346", old.at, "node-a")
    await store.finish_launch(OccurrenceKey("recent-meeting"), LaunchState.STARTED)

    assert await prune_once(store, old.at + timedelta(days=1), backward_months=2) == (0, 1)
    assert [c.cursor for c in await store.changes_after(0)] == [old.cursor]

    later = old.at + CHANGE_LOG_RETENTION + timedelta(days=1)
    assert await prune_once(store, later, backward_months=2) == (1, 0)
    assert await store.changes_after(0) == []
    assert await store.get_launch(OccurrenceKey("recent-meeting")) is not None


async def test_pruning_nothing_is_harmless(store: Store) -> None:
    assert await prune_once(store, datetime.now(UTC), backward_months=2) == (0, 0)
