"""A claim handed back before its start is ``released``: shown as such, and claimed again at once by one caller.

Releasing never undoes a start: only a claim still in progress can be handed back.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from store_builders import MONDAY_9

from tc_calendar.model import OccurrenceKey
from tc_calendar.store import LaunchNotFoundError, LaunchState, Store

KEY = OccurrenceKey("uid-1", MONDAY_9)


async def test_a_released_claim_is_listed_as_released_not_failed(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")

    await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "rescheduled to 2026-01-05T10:00:00+00:00")

    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.last_error) == (LaunchState.RELEASED, "rescheduled to 2026-01-05T10:00:00+00:00")
    assert record.finished_at is not None
    assert await store.list_launches([LaunchState.RELEASED]) == [record]
    assert await store.list_launches([LaunchState.FAILED]) == []
    assert await store.list_launches([LaunchState.CLAIMED]) == []


async def test_another_node_claims_a_released_launch_and_only_one_of_many_wins(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "the connector stopped before the start")

    results = await asyncio.gather(*(store.retry_launch(KEY, f"node-{n}") for n in range(2, 8)))

    assert results.count(True) == 1
    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.claimed_by, record.finished_at) == (
        LaunchState.CLAIMED,
        f"node-{results.index(True) + 2}",
        None,
    )
    assert record.attempts == 1  # handing back is not a failed attempt: the back-off after failures is unchanged


async def test_nodes_sharing_one_database_claim_a_released_launch_once(database_url: str) -> None:
    async with Store.open(database_url) as first, Store.open(database_url) as second:
        await first.claim_launch(KEY, "team", MONDAY_9, "a")
        await first.release_launch(KEY, "a", LaunchState.RELEASED, "rescheduled")

        results = await asyncio.gather(
            *(store.retry_launch(KEY, name) for store, name in [(first, "a"), (second, "b")] * 5)
        )

        assert results.count(True) == 1


async def test_a_started_launch_cannot_be_handed_back(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.finish_launch(KEY, LaunchState.STARTED)

    with pytest.raises(LaunchNotFoundError, match="no claim of node-1 in progress"):
        await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "the connector stopped before the start")

    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.STARTED
    assert not await store.retry_launch(KEY, "node-2")


async def test_handing_back_a_launch_never_claimed_is_an_error(store: Store) -> None:
    with pytest.raises(LaunchNotFoundError):
        await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "rescheduled")


async def test_a_claim_taken_again_after_a_failure_counts_an_attempt(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "rescheduled")
    assert await store.retry_launch(KEY, "node-2")
    await store.finish_launch(KEY, LaunchState.FAILED, "TrueConf Server answered 503")

    assert await store.retry_launch(KEY, "node-3")

    record = await store.get_launch(KEY)
    assert record is not None and (record.state, record.attempts) == (LaunchState.CLAIMED, 2)


async def test_old_released_launches_are_pruned_like_other_finished_ones(store: Store) -> None:
    old = OccurrenceKey("old", MONDAY_9 - timedelta(days=90))
    await store.claim_launch(old, "team", MONDAY_9 - timedelta(days=90), "node-1")
    await store.release_launch(old, "node-1", LaunchState.RELEASED, "the connector stopped before the start")
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "rescheduled")

    assert await store.prune_launches(MONDAY_9 - timedelta(days=30)) == 1

    assert [record.key for record in await store.list_launches()] == [KEY]


async def test_only_the_holder_of_a_claim_can_hand_it_back(store: Store) -> None:
    """A node that stalled while another took its claim over must not hand back the claim it no longer holds."""
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "rescheduled")
    assert await store.retry_launch(KEY, "node-2")

    with pytest.raises(LaunchNotFoundError, match="no claim of node-1 in progress"):
        await store.release_launch(KEY, "node-1", LaunchState.RELEASED, "the connector stopped before the start")

    record = await store.get_launch(KEY)
    assert record is not None and (record.state, record.claimed_by) == (LaunchState.CLAIMED, "node-2")


async def test_a_claim_is_handed_back_only_as_released_or_skipped(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")

    with pytest.raises(ValueError, match="released or skipped"):
        await store.release_launch(KEY, "node-1", LaunchState.STARTED, "no")
