"""The sync loops against an in-memory provider and the real store: what reaches the store, when, and how failures
are handled. (The same behaviour against Exchange's protocol is in ``test_sync_ews.py``.)"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from engine_fakes import FAST, FakeProvider

from store_reads import checkpoint_of
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.model import Change, ChangeKind
from tc_calendar.providers.base import (
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    NotificationKind,
    ThrottledError,
    TransientError,
)
from tc_calendar.records import Person, RemoteAttendee
from tc_calendar.store import MailboxState, Store
from waiting import eventually

ALICE = "alice@corp.test"
BOB = "bob@corp.test"
NOW = datetime.now(UTC).replace(microsecond=0)



class Harness:
    def __init__(self, store: Store, provider: FakeProvider) -> None:
        self.store = store
        self.provider = provider
        self.notified: list[Change] = []
        self.service: SyncService | None = None

    def build(
        self, users: Sequence[str], *, options: SyncOptions = FAST, limit: int | None = None
    ) -> SyncService:
        def notify(changes: Sequence[Change]) -> None:
            self.notified.extend(changes)

        self.service = SyncService(
            self.store,
            [self.provider],
            [list(users)],
            planner=DiffPlanner(),
            options=options,
            account_limit=limit,
            notify=notify,
        )
        return self.service

    async def titles(self, user: str) -> list[str]:
        view = await self.store.load_view(user, NOW - timedelta(days=365), NOW + timedelta(days=365))
        return [occurrence.display_title for occurrence, _ in view]

    async def state(self, user: str) -> MailboxState | None:
        status = await self.store.get_mailbox(user)
        return None if status is None else status.state


@pytest.fixture
async def harness(store: Store) -> AsyncIterator[Harness]:
    made = Harness(store, FakeProvider())
    yield made
    if made.service is not None:
        await made.service.stop(grace_seconds=2)


async def test_configured_users_are_synced_at_start_and_subscribers_are_notified(harness: Harness) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    harness.provider.meeting(BOB, "Review", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    service = harness.build([ALICE, BOB])

    await service.start()
    await service.wait_synced(within=30)

    assert await harness.titles(ALICE) == ["Standup"]
    assert await harness.titles(BOB) == ["Review"]
    assert {(c.kind, c.user) for c in harness.notified} == {(ChangeKind.UPSERT, ALICE), (ChangeKind.UPSERT, BOB)}
    assert await harness.state(ALICE) is MailboxState.OK


async def test_a_wait_for_first_syncs_that_is_given_up_leaves_no_error_for_asyncio_to_report_later(
    harness: Harness,
) -> None:
    """A caller that stops waiting (cancelled, or out of time) while a mailbox is still syncing: nothing it waited on
    is left to be reported as "exception was never retrieved" when collected."""
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    harness.provider.meeting(BOB, "Review", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    harness.provider.hold(BOB, "initial_items")  # Bob's first sync does not finish
    service = harness.build([ALICE, BOB])
    reported: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
    try:
        await service.start()
        waiting = asyncio.create_task(service.wait_synced(within=60))

        async def alice_synced() -> bool:
            return await harness.state(ALICE) is MailboxState.OK

        await eventually(alice_synced)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(TimeoutError):
            await service.wait_synced(within=0.01)
        gc.collect()
    finally:
        loop.set_exception_handler(None)

    assert reported == []


async def test_a_notified_change_reaches_the_store_through_incremental_sync(harness: Harness) -> None:
    item = harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)

    harness.provider.update(ALICE, item, subject="Standup (moved)", start=NOW + timedelta(hours=3),
                            end=NOW + timedelta(hours=4))
    harness.provider.meeting(ALICE, "Lunch", NOW + timedelta(hours=5), NOW + timedelta(hours=6))
    harness.provider.meeting(ALICE, "Retro", NOW + timedelta(hours=7), NOW + timedelta(hours=8))
    await harness.provider.notify(ALICE)

    async def arrived() -> bool:
        return await harness.titles(ALICE) == ["Standup (moved)", "Lunch", "Retro"]

    await eventually(arrived)
    assert [call for call in harness.provider.calls if call[1] == "initial_items"] == [(ALICE, "initial_items")]


async def test_a_deleted_item_disappears_and_a_resync_of_an_unchanged_calendar_writes_nothing(
    harness: Harness,
) -> None:
    keep = harness.provider.meeting(ALICE, "Keep", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    gone = harness.provider.meeting(ALICE, "Gone", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    service = harness.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)
    assert keep

    harness.provider.delete(ALICE, gone)
    await harness.provider.notify(ALICE)

    async def deleted() -> bool:
        return await harness.titles(ALICE) == ["Keep"]

    await eventually(deleted)
    before = await harness.store.latest_cursor()

    harness.provider.invalid_states.add(str(len(harness.provider.mailboxes[ALICE].log)))
    harness.provider.update(ALICE, keep)  # an invisible edit: a new change key, same content
    await harness.provider.notify(ALICE)

    async def resynced() -> bool:
        return sum(1 for call in harness.provider.calls if call[1] == "initial_items") == 2

    await eventually(resynced)
    await asyncio.sleep(0.1)
    assert await harness.titles(ALICE) == ["Keep"]
    assert await harness.store.latest_cursor() == before


async def test_a_restart_resumes_from_the_saved_sync_state_without_a_window_sync(store: Store) -> None:
    provider = FakeProvider()
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    first = Harness(store, provider)
    service = first.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)
    await service.stop(grace_seconds=2)

    provider.meeting(ALICE, "While we were down", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    provider.calls.clear()
    second = Harness(store, provider)
    service = second.build([ALICE])
    await service.start()
    try:
        await service.wait_synced(within=30)
        assert await second.titles(ALICE) == ["Standup", "While we were down"]
        assert (ALICE, "initial_items") not in provider.calls
    finally:
        await service.stop(grace_seconds=2)


async def test_one_denied_mailbox_shows_its_error_and_the_others_sync_on(harness: Harness) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    harness.provider.meeting(BOB, "Review", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    denied = MailboxError("may not impersonate", reason=MailboxErrorReason.ACCESS_DENIED, mailbox=BOB)
    harness.provider.fail(BOB, "sync_changes", *[denied] * 3)
    service = harness.build([ALICE, BOB])

    await service.start()
    await service.wait_synced([ALICE], within=30)

    async def bob_failed() -> bool:
        status = await harness.store.get_mailbox(BOB)
        return status is not None and status.state is MailboxState.ERROR and "impersonate" in (status.last_error or "")

    await eventually(bob_failed)
    assert await harness.titles(ALICE) == ["Standup"]

    async def bob_recovered() -> bool:
        return await harness.titles(BOB) == ["Review"] and await harness.state(BOB) is MailboxState.OK

    await eventually(bob_recovered)


async def test_throttling_waits_the_servers_back_off_for_the_whole_service_account(harness: Harness) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    harness.provider.fail(ALICE, "sync_changes", ThrottledError("busy", backoff_seconds=0.5, mailbox=ALICE))
    service = harness.build([ALICE])
    started = asyncio.get_running_loop().time()

    await service.start()
    await service.wait_synced(within=30)

    assert asyncio.get_running_loop().time() - started >= 0.5
    assert await harness.titles(ALICE) == ["Standup"]


async def test_transient_failures_are_retried_and_leave_a_healthy_mailbox_ok(harness: Harness) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)

    harness.provider.meeting(ALICE, "Later", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    harness.provider.fail(ALICE, "sync_changes", TransientError("HTTP 503", mailbox=ALICE))
    await harness.provider.notify(ALICE)

    async def arrived() -> bool:
        return await harness.titles(ALICE) == ["Standup", "Later"]

    await eventually(arrived)
    assert await harness.state(ALICE) is MailboxState.OK


async def test_invalid_sync_state_is_recovered_by_a_window_sync(harness: Harness) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)

    harness.provider.fail(ALICE, "sync_changes", InvalidSyncStateError("ErrorInvalidSyncStateData", mailbox=ALICE))
    harness.provider.meeting(ALICE, "Later", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    await harness.provider.notify(ALICE, NotificationKind.CHANGED)

    async def arrived() -> bool:
        return await harness.titles(ALICE) == ["Standup", "Later"]

    await eventually(arrived)
    upserts = [c for c in await harness.store.changes_after(0) if c.kind is ChangeKind.UPSERT]
    assert len(upserts) == 2


async def test_the_account_limit_admits_users_first_and_marks_the_rest_over_limit(harness: Harness) -> None:
    for user in (ALICE, BOB, "carol@corp.test"):
        harness.provider.meeting(user, f"Meeting of {user}", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE], limit=2)
    await service.start()
    await service.wait_synced(within=30)

    # The first request waits a little for the first sync cycle: "synced" unless that takes longer.
    assert await service.request_mailbox(BOB) in ("synced", "queued")
    assert await service.request_mailbox("carol@corp.test") == "over_limit"
    await service.wait_synced([BOB], within=30)
    assert await service.request_mailbox(BOB) == "synced"
    assert await service.request_mailbox(ALICE) == "synced"
    assert await harness.state("carol@corp.test") is MailboxState.OVER_LIMIT
    assert await harness.titles("carol@corp.test") == []
    assert await harness.titles(BOB) == [f"Meeting of {BOB}"]


async def test_without_auto_sync_only_events_changed_after_the_first_start_are_synced(harness: Harness) -> None:
    old = harness.provider.meeting(ALICE, "Old", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    box = harness.provider.mailboxes[ALICE]
    box.items[old] = box.items[old].__class__(
        **{**{f: getattr(box.items[old], f) for f in box.items[old].__dataclass_fields__},
           "last_modified": NOW - timedelta(days=30)}
    )
    options = replace(FAST, auto_sync=False)
    service = harness.build([ALICE], options=options)
    await service.start()
    await service.wait_synced(within=30)
    assert await harness.titles(ALICE) == []

    harness.provider.meeting(ALICE, "New", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    harness.provider.update(ALICE, old, subject="Old, moved")
    await harness.provider.notify(ALICE)

    async def arrived() -> bool:
        return await harness.titles(ALICE) == ["Old, moved", "New"]

    await eventually(arrived)


async def test_a_mailbox_registered_on_demand_elsewhere_is_picked_up(harness: Harness) -> None:
    harness.provider.meeting(BOB, "Review", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    options = replace(FAST, roster_refresh_interval=0.1)
    service = harness.build([ALICE], options=options)
    harness.provider.mailboxes.setdefault(ALICE, harness.provider.mailboxes[BOB].__class__())
    await service.start()

    await harness.store.register_on_demand_mailbox(BOB)  # what the API's registry does

    async def synced() -> bool:
        return await harness.titles(BOB) == ["Review"]

    await eventually(synced)


async def test_a_mailbox_asked_for_while_a_lease_round_renews_the_leases_stays_synchronized(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    harness.provider.meeting(BOB, "Review", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE], options=replace(FAST, roster_refresh_interval=0.1))
    await service.start()
    await service.wait_synced(within=30)

    # The next lease round reads its renewed leases, and gets the answer only after Bob was asked for and leased.
    renew = harness.store.renew_leases
    renewed, release = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def late_renewal(node_id: str, ttl: timedelta) -> list[str]:
        nonlocal rounds
        leases = await renew(node_id, ttl)
        rounds += 1
        if rounds == 1:
            renewed.set()
            await release.wait()
        return leases

    monkeypatch.setattr(harness.store, "renew_leases", late_renewal)
    await asyncio.wait_for(renewed.wait(), 30)
    await service.request_mailbox(BOB)
    release.set()
    await eventually(lambda: rounds >= 3)  # that round ended, and the next ones ran

    harness.provider.meeting(BOB, "Later", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    service.trigger(BOB)

    async def synced() -> bool:
        return await harness.titles(BOB) == ["Review", "Later"]

    await eventually(synced)  # Bob's loop still runs: the round did not forget the lease taken meanwhile


async def test_a_user_removed_from_the_configuration_no_longer_shows_stale_events(store: Store) -> None:
    provider = FakeProvider()
    provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    provider.meeting(BOB, "Review", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    first = Harness(store, provider)
    service = first.build([ALICE, BOB])
    await service.start()
    await service.wait_synced(within=30)
    await service.stop(grace_seconds=2)

    second = Harness(store, provider)
    service = second.build([ALICE])
    await service.start()
    try:
        await service.wait_synced(within=30)
        assert await second.titles(BOB) == []
        assert await second.titles(ALICE) == ["Standup"]
        assert await second.state(BOB) is MailboxState.DISABLED
        checkpoint = await checkpoint_of(store, BOB)
        assert checkpoint is not None and checkpoint.sync_state is None
    finally:
        await service.stop(grace_seconds=2)


async def test_the_window_slides_with_the_days(harness: Harness) -> None:
    now = [NOW]
    soon = harness.provider.meeting(ALICE, "Soon", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    harness.provider.meeting(ALICE, "Far ahead", NOW + timedelta(days=100), NOW + timedelta(days=100, hours=1))
    service = SyncService(
        harness.store, [harness.provider], [[ALICE]], planner=DiffPlanner(),
        options=replace(FAST, backward_months=1, forward_months=2),
        clock=lambda: now[0],
    )  # fmt: skip
    harness.service = service
    await service.start()
    await service.wait_synced(within=30)
    view = await harness.store.load_view(ALICE, NOW - timedelta(days=365), NOW + timedelta(days=365))
    assert [o.title for o, _ in view] == ["Soon", "Far ahead"]  # a single meeting is kept beyond cache.forward
    assert soon

    now[0] = NOW + timedelta(days=45)
    service.trigger(ALICE)

    async def slid() -> bool:
        view = await harness.store.load_view(ALICE, NOW - timedelta(days=365), NOW + timedelta(days=365))
        return [o.title for o, _ in view] == ["Far ahead"]

    await eventually(slid)
    first, moved = harness.provider.reads
    assert first.series is not None and first.singles is not None
    assert moved.series is not None and moved.singles is not None
    # only what slid in was read from the server: series up to the new forward end, singles up to the new limit
    assert (moved.series.start, moved.singles.start) == (first.series.end, first.singles.end)
    status = await checkpoint_of(harness.store, ALICE)
    assert status is not None and status.window_end == moved.series.end


async def test_two_nodes_share_the_mailboxes_and_one_takes_over_when_the_other_stops(store: Store) -> None:
    provider = FakeProvider()
    users = [ALICE, BOB, "carol@corp.test", "dave@corp.test"]
    for user in users:
        provider.meeting(user, f"Meeting of {user}", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    options = replace(FAST, roster_refresh_interval=0.1)
    first = SyncService(store, [provider], [users], planner=DiffPlanner(), options=options, node_id="node-1",
                        max_mailboxes=2)  # fmt: skip
    second = SyncService(store, [provider], [users], planner=DiffPlanner(), options=options, node_id="node-2")
    await first.start()
    await second.start()
    try:
        await first.wait_synced(within=30)
        await second.wait_synced(within=30)
        owners = {s.email: s.lease_owner for s in await store.list_mailboxes()}
        assert owners == {ALICE: "node-1", BOB: "node-1", "carol@corp.test": "node-2", "dave@corp.test": "node-2"}
        assert sorted(m for m, op in provider.calls if op == "initial_items") == sorted(users)

        await first.stop(grace_seconds=2)
        provider.meeting(ALICE, "Later", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
        provider.calls.clear()

        async def taken_over() -> bool:
            view = await store.load_view(ALICE, NOW - timedelta(days=1), NOW + timedelta(days=1))
            return [o.title for o, _ in view] == [f"Meeting of {ALICE}", "Later"]

        await eventually(taken_over)
        owners = {s.email: s.lease_owner for s in await store.list_mailboxes()}
        assert set(owners.values()) == {"node-2"}
        assert (ALICE, "initial_items") not in provider.calls  # resumed from the checkpoint, no window sync
    finally:
        await first.stop(grace_seconds=2)
        await second.stop(grace_seconds=2)


async def test_a_cancellation_seen_by_the_attendee_before_the_organizer_drops_the_meeting(store: Store) -> None:
    provider = FakeProvider()
    start, end = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    organizer_item = provider.meeting(ALICE, "Budget", start, end, uid="budget")
    attendee_item = provider.meeting(BOB, "Budget", start, end, uid="budget")
    invitee = (RemoteAttendee(BOB, "Bob"),)
    for mailbox, item_id in ((ALICE, organizer_item), (BOB, attendee_item)):
        items = provider.mailboxes[mailbox].items
        items[item_id] = replace(items[item_id], organizer=Person(ALICE, "Alice"), required_attendees=invitee)
    harness = Harness(store, provider)
    service = harness.build([ALICE, BOB])
    await service.start()
    try:
        await service.wait_synced(within=30)
        bob_before = await checkpoint_of(store, BOB)
        provider.update(BOB, attendee_item, is_cancelled=True)  # Exchange marks the attendee's copy first
        await provider.notify(BOB)

        async def bobs_copy_applied() -> bool:  # the organizer's copy still holds the shared content
            return await checkpoint_of(store, BOB) != bob_before

        await eventually(bobs_copy_applied)
        provider.delete(ALICE, organizer_item)  # then the organizer's item goes
        await provider.notify(ALICE)

        async def cancelled() -> bool:
            return await harness.titles(BOB) == ["Canceled: Budget"]

        await eventually(cancelled)

    finally:
        await service.stop(grace_seconds=2)


def _failure_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, bool]]:
    return [(r.getMessage(), r.exc_info is not None) for r in caplog.records if r.name == "tc_calendar.engine.runner"]


@pytest.mark.parametrize("debug", [False, True])
async def test_a_mailbox_failing_again_and_again_is_named_once_with_the_library_traceback_only_at_debug(
    harness: Harness, caplog: pytest.LogCaptureFixture, debug: bool
) -> None:
    caplog.set_level(logging.DEBUG if debug else logging.INFO, logger="tc_calendar.engine.runner")
    harness.provider.meeting(ALICE, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    service = harness.build([ALICE])
    await service.start()
    await service.wait_synced(within=30)

    harness.provider.meeting(ALICE, "Later", NOW + timedelta(hours=3), NOW + timedelta(hours=4))
    harness.provider.fail(ALICE, "sync_changes", *(KeyError("ItemId") for _ in range(5)))
    await harness.provider.notify(ALICE)

    async def arrived() -> bool:
        return await harness.titles(ALICE) == ["Standup", "Later"]

    await eventually(arrived)
    failures = [line for line in _failure_lines(caplog) if "KeyError" in line[0] and "failed again" not in line[0]]
    assert failures == [(f"{ALICE}: sync failed: KeyError: 'ItemId'", debug)]


class _SlowStore:
    """The real store, its writes held until ``release``: a store that lags behind the reads."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.release = asyncio.Event()
        self.writes_waiting = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def apply(self, actions: Sequence[object]) -> list[Change]:
        self.writes_waiting += 1
        try:
            await self.release.wait()
            return await self._store.apply(actions)  # type: ignore[arg-type]
        finally:
            self.writes_waiting -= 1


async def test_window_reads_wait_for_the_store_no_more_than_the_window_syncs_allowed_at_once(store: Store) -> None:
    """A window read waiting for its write holds the whole window in memory: when the store lags behind Exchange
    (a start with thousands of mailboxes), no more mailboxes are read ahead than ``max_window_syncs``."""
    provider = FakeProvider()
    staff = [f"user{n:02d}@corp.test" for n in range(12)]
    for mailbox in staff:
        provider.meeting(mailbox, "Standup", NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    slow = _SlowStore(store)
    harness = Harness(slow, provider)  # type: ignore[arg-type]
    service = harness.build(staff, options=replace(FAST, max_window_syncs=3))
    try:
        await service.start()
        await eventually(lambda: slow.writes_waiting >= 3, every=0.05, what="the first window syncs' writes")

        def windows_read() -> int:
            return sum(operation == "initial_items" for _, operation in provider.calls)

        assert windows_read() == 3
        slow.release.set()
        await service.wait_synced(within=30)
        assert windows_read() == len(staff)
    finally:
        await service.stop(grace_seconds=2)
