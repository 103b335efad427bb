"""Conference launches: each occurrence's conference is claimed exactly once, by one caller anywhere."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from store_builders import ALICE, BOB, MONDAY_9, meeting, put

from tc_calendar.model import OccurrenceKey
from tc_calendar.store import LaunchNotFoundError, LaunchState, Store

KEY = OccurrenceKey("uid-1", MONDAY_9)


async def test_of_twenty_concurrent_claims_exactly_one_wins(store: Store) -> None:
    claims = [store.claim_launch(KEY, "team", MONDAY_9, f"worker-{n}") for n in range(20)]

    results = await asyncio.gather(*claims)

    assert results.count(True) == 1
    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.attempts, record.claimed_by) == (
        LaunchState.CLAIMED,
        1,
        f"worker-{results.index(True)}",
    )


async def test_two_instances_sharing_one_database_claim_a_launch_once(database_url: str) -> None:
    async with Store.open(database_url) as first, Store.open(database_url) as second:
        for n in range(10):
            key = OccurrenceKey(f"uid-{n}", MONDAY_9)
            results = await asyncio.gather(
                *(store.claim_launch(key, "team", MONDAY_9, name) for store, name in [(first, "a"), (second, "b")] * 5)
            )
            assert results.count(True) == 1


async def test_a_claim_survives_a_restart(database_url: str) -> None:
    async with Store.open(database_url) as before_restart:
        assert await before_restart.claim_launch(KEY, "team", MONDAY_9, "node-1")
    async with Store.open(database_url) as after_restart:
        assert not await after_restart.claim_launch(KEY, "team", MONDAY_9, "node-1")


async def test_finishing_records_the_outcome(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")

    await store.finish_launch(KEY, LaunchState.STARTED, late=True)

    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.late, record.last_error) == (LaunchState.STARTED, True, None)
    assert record.finished_at is not None
    assert await store.list_launches([LaunchState.CLAIMED]) == []
    assert await store.list_launches([LaunchState.STARTED]) == [record]


async def test_finishing_an_unclaimed_launch_is_an_error(store: Store) -> None:
    with pytest.raises(LaunchNotFoundError):
        await store.finish_launch(KEY, LaunchState.STARTED)


async def test_a_failed_launch_may_be_retried_by_one_caller(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.finish_launch(KEY, LaunchState.FAILED, error="TrueConf Server answered 503")

    results = await asyncio.gather(*(store.retry_launch(KEY, f"node-{n}") for n in range(5)))

    assert results.count(True) == 1
    record = await store.get_launch(KEY)
    assert record is not None
    assert (record.state, record.attempts, record.finished_at) == (LaunchState.CLAIMED, 2, None)
    assert await store.list_launches([LaunchState.CLAIMED]) == [record]


async def test_a_started_launch_is_not_retried(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.finish_launch(KEY, LaunchState.STARTED)

    assert not await store.retry_launch(KEY, "node-2")


async def test_the_launcher_sees_linked_uncancelled_occurrences_starting_in_the_range(store: Store) -> None:
    linked = meeting("linked", conference="team", attendees=(BOB,))
    await store.apply(
        [
            put(ALICE, linked),
            put(ALICE, meeting("no-link")),
            put(ALICE, meeting("cancelled", conference="x", cancelled=True)),
            put(ALICE, meeting("later", conference="y", start=MONDAY_9 + timedelta(hours=1))),
        ]
    )

    assert await store.launches_between(MONDAY_9, MONDAY_9 + timedelta(minutes=5)) == [linked]


async def test_old_finished_launches_are_pruned_but_unfinished_claims_are_kept(store: Store) -> None:
    old_started, old_claimed, recent = (OccurrenceKey(uid, MONDAY_9) for uid in ("a", "b", "c"))
    await store.claim_launch(old_started, "team", MONDAY_9 - timedelta(days=90), "node-1")
    await store.finish_launch(old_started, LaunchState.STARTED)
    await store.claim_launch(old_claimed, "team", MONDAY_9 - timedelta(days=90), "node-1")
    await store.claim_launch(recent, "team", MONDAY_9, "node-1")
    await store.finish_launch(recent, LaunchState.STARTED)

    assert await store.prune_launches(MONDAY_9 - timedelta(days=30)) == 1

    assert [r.key for r in await store.list_launches()] == [old_claimed, recent]


async def test_a_stale_claim_is_taken_over_by_exactly_one_of_many_nodes(database_url: str) -> None:
    """Nodes that all see a claim left by a stopped connector race for it; one takes it, none overwrites another."""
    now = [MONDAY_9]

    def clock() -> datetime:
        return now[0]

    async with Store.open(database_url, clock=clock) as first, Store.open(database_url, clock=clock) as second:
        await first.claim_launch(KEY, "team", MONDAY_9, "node-dead")
        now[0] = MONDAY_9 + timedelta(minutes=3)
        stale_before = now[0] - timedelta(minutes=2)

        callers = [(first, "a"), (second, "b")] * 4
        results = await asyncio.gather(
            *(store.retry_launch(KEY, name, stale_before=stale_before) for store, name in callers)
        )

        assert results.count(True) == 1
        record = await first.get_launch(KEY)
        assert record is not None
        assert (record.state, record.claimed_by, record.attempts, record.last_error) == (
            LaunchState.CLAIMED,
            callers[results.index(True)][1],
            2,
            "interrupted: the connector stopped",
        )


async def test_a_claim_in_progress_is_not_taken_over(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    claimed = await store.get_launch(KEY)
    assert claimed is not None

    assert not await store.retry_launch(KEY, "node-2", stale_before=claimed.claimed_at - timedelta(minutes=2))
    record = await store.get_launch(KEY)
    assert record is not None and record.claimed_by == "node-1"


async def test_a_sent_start_is_remembered_by_whoever_takes_the_claim_over(database_url: str) -> None:
    now = [MONDAY_9]
    async with Store.open(database_url, clock=lambda: now[0]) as store:
        await store.claim_launch(KEY, "team", MONDAY_9, "node-dead")
        assert await store.mark_runs_sent([KEY], "node-dead") == {KEY}
        now[0] = MONDAY_9 + timedelta(minutes=3)

        assert await store.retry_launch(KEY, "node-2", stale_before=now[0] - timedelta(minutes=2))

        record = await store.get_launch(KEY)
        assert record is not None and record.claimed_by == "node-2" and record.run_sent_at == MONDAY_9


async def test_a_holder_whose_claim_was_taken_over_cannot_note_a_start(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")

    assert await store.mark_runs_sent([KEY], "node-2") == set()  # it must not send run
    record = await store.get_launch(KEY)
    assert record is not None and record.run_sent_at is None


async def test_a_start_the_server_refused_is_no_longer_noted_as_sent(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.mark_runs_sent([KEY], "node-1")

    await store.finish_launch(KEY, LaunchState.FAILED, "HTTP 503", run_refused=True)

    record = await store.get_launch(KEY)
    assert record is not None and record.state is LaunchState.FAILED and record.run_sent_at is None


async def test_a_start_sent_for_an_earlier_time_is_forgotten_when_the_meeting_moves(store: Store) -> None:
    await store.claim_launch(KEY, "team", MONDAY_9, "node-1")
    await store.mark_runs_sent([KEY], "node-1")
    await store.finish_launch(KEY, LaunchState.FAILED, "read timeout")

    moved = MONDAY_9 + timedelta(hours=2)
    assert await store.retry_launch(KEY, "node-1", scheduled_at=moved)

    record = await store.get_launch(KEY)
    assert record is not None and record.scheduled_at == moved and record.run_sent_at is None


async def test_an_attempt_whose_claim_was_taken_over_cannot_overwrite_the_new_holders_outcome(
    database_url: str,
) -> None:
    now = [MONDAY_9]
    async with Store.open(database_url, clock=lambda: now[0]) as store:
        await store.claim_launch(KEY, "team", MONDAY_9, "node-slow")
        now[0] = MONDAY_9 + timedelta(minutes=3)
        assert await store.retry_launch(KEY, "node-2", stale_before=now[0] - timedelta(minutes=2))
        await store.finish_launch(KEY, LaunchState.STARTED, owner="node-2")

        # The first attempt comes back late with its own outcome: it is refused, and the record stays node-2's.
        with pytest.raises(LaunchNotFoundError, match="node-slow no longer holds the claim"):
            await store.finish_launch(KEY, LaunchState.FAILED, "read timeout", owner="node-slow")

        record = await store.get_launch(KEY)
        assert record is not None
        assert (record.state, record.claimed_by, record.last_error) == (LaunchState.STARTED, "node-2", None)
