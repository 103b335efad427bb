"""Change tracking: SyncFolderItems journal paging and states, pull and streaming subscriptions."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from ews_sim.world import (
    ChangeKind,
    DailyPattern,
    EventType,
    ExpiredSubscription,
    InvalidSyncStateData,
    InvalidWatermark,
    NumberedRecurrence,
    Recurrence,
    SimClock,
    StreamingConnectionDropped,
    SubscriptionNotFound,
    World,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(lambda: NOW)


@pytest.fixture
def world(clock: SimClock) -> World:
    world = World(clock)
    world.add_mailbox(ALICE, "Alice", "Europe/Berlin")
    world.add_mailbox(BOB, "Bob", "UTC")
    return world


def appointment(world: World, subject: str, smtp: str = ALICE):  # type: ignore[no-untyped-def]
    return world.create_appointment(smtp, subject, datetime(2026, 3, 3, 10), datetime(2026, 3, 3, 11))


def calendar(world: World, smtp: str = ALICE) -> str:
    return world.mailbox(smtp).calendar_folder_id


def kinds(changes: list) -> list[tuple[str, str]]:
    return [(c.kind.value, c.item_id) for c in changes]


def test_first_sync_reports_every_single_and_master_as_created(world: World) -> None:
    single = appointment(world, "one")
    series = world.create_appointment(
        ALICE, "daily", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10),
        recurrence=Recurrence(DailyPattern(), NumberedRecurrence(date(2026, 3, 2), 5)),
    )  # fmt: skip
    appointment(world, "bob's", BOB)
    changes, state, last = world.sync_folder_items(calendar(world), None)
    assert kinds(changes) == [("Create", single.item_id), ("Create", series.item_id)]
    assert last and changes[0].item is not None and changes[0].item.subject == "one"
    again = world.sync_folder_items(calendar(world), state)
    assert (again.changes, again.includes_last_item_in_range) == ([], True)


def test_updates_and_deletes_coalesce_to_one_change_per_item(world: World) -> None:
    a, b, c = appointment(world, "a"), appointment(world, "b"), appointment(world, "c")
    _, state, _ = world.sync_folder_items(calendar(world), None)
    world.update_item(a.item_id, subject="a2")
    world.update_item(a.item_id, subject="a3")
    world.update_item(b.item_id, subject="b2")
    world.delete_item(b.item_id)
    world.delete_item(c.item_id)
    d = appointment(world, "d")
    world.update_item(d.item_id, subject="d2")
    e = appointment(world, "e")
    world.delete_item(e.item_id)
    changes, state, last = world.sync_folder_items(calendar(world), state)
    assert kinds(changes) == [
        ("Update", a.item_id),
        ("Delete", b.item_id),
        ("Delete", c.item_id),
        ("Create", d.item_id),
    ]
    assert changes[0].item is not None and changes[0].item.subject == "a3"
    assert changes[0].change_key == world.get_item(a.item_id).change_key
    assert changes[1].item is None and last


def test_paging_with_max_changes(world: World) -> None:
    items = [appointment(world, str(n)) for n in range(5)]
    seen: list[str] = []
    state = None
    flags = []
    while True:
        changes, state, last = world.sync_folder_items(calendar(world), state, max_changes=2)
        seen += [c.item_id for c in changes]
        flags.append(last)
        if last:
            break
    assert seen == [i.item_id for i in items]
    assert flags == [False, False, True]


def test_occurrence_changes_are_reported_as_an_update_of_the_master(world: World) -> None:
    series = world.create_meeting(
        ALICE, "daily", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10), required=[BOB],
        recurrence=Recurrence(DailyPattern(), NumberedRecurrence(date(2026, 3, 2), 5)),
    )  # fmt: skip
    _, alice_state, _ = world.sync_folder_items(calendar(world), None)
    _, bob_state, _ = world.sync_folder_items(calendar(world, BOB), None)
    world.update_occurrence(ALICE, series.uid, 2, subject="special")
    assert kinds(world.sync_folder_items(calendar(world), alice_state).changes) == [("Update", series.item_id)]
    (bob_change,) = world.sync_folder_items(calendar(world, BOB), bob_state).changes
    assert bob_change.kind == ChangeKind.UPDATE and bob_change.item is not None
    assert bob_change.item.modified_occurrences


def test_garbled_foreign_and_invalidated_states_are_rejected(world: World) -> None:
    appointment(world, "a")
    _, state, _ = world.sync_folder_items(calendar(world), None)
    for bad in ("garbage!", state[:-4] + "AAAA", world.sync_folder_items(calendar(world, BOB), None).sync_state):
        with pytest.raises(InvalidSyncStateData) as info:
            world.sync_folder_items(calendar(world), bad)
        assert info.value.response_code == "ErrorInvalidSyncStateData"
    world.invalidate_sync_states(ALICE)
    with pytest.raises(InvalidSyncStateData):
        world.sync_folder_items(calendar(world), state)
    assert len(world.sync_folder_items(calendar(world), None).changes) == 1
    assert World(SimClock(lambda: NOW)).journal.epoch != world.journal.epoch


def test_pull_subscription_delivers_item_events_with_watermarks(world: World) -> None:
    sub_id, watermark = world.subscribe(ALICE, "pull", ["CreatedEvent", "ModifiedEvent", "DeletedEvent"])
    item = appointment(world, "a")
    world.update_item(item.item_id, subject="b")
    world.delete_item(item.item_id)
    appointment(world, "bob's", BOB)
    batch = world.get_events(sub_id, watermark)
    assert [(e.event_type, e.item_id) for e in batch.events] == [
        (EventType.CREATED, item.item_id),
        (EventType.MODIFIED, item.item_id),
        (EventType.DELETED, item.item_id),
    ]
    assert {e.parent_folder_id for e in batch.events} == {calendar(world)}
    assert batch.events[0].timestamp == NOW and not batch.more_events
    assert batch.previous_watermark == watermark
    assert len({e.watermark for e in batch.events}) == 3  # each event has its own watermark
    quiet = world.get_events(sub_id, batch.watermark)
    assert [e.event_type for e in quiet.events] == [EventType.STATUS]


def test_event_type_filter_and_more_events(world: World) -> None:
    sub_id, watermark = world.subscribe(ALICE, "pull", ["Created"])
    item = appointment(world, "a")
    world.update_item(item.item_id, subject="b")
    for n in range(55):
        appointment(world, str(n))
    first = world.get_events(sub_id, watermark)
    assert len(first.events) == 50 and first.more_events
    assert {e.event_type for e in first.events} == {EventType.CREATED}
    second = world.get_events(sub_id, first.watermark)
    assert len(second.events) == 6 and not second.more_events


def test_resubscribing_from_a_watermark_replays_later_events(world: World) -> None:
    sub_id, watermark = world.subscribe(ALICE)
    world.unsubscribe(sub_id)
    item = appointment(world, "a")
    again, _ = world.subscribe(ALICE, watermark=watermark)
    assert [e.item_id for e in world.get_events(again).events] == [item.item_id]
    with pytest.raises(InvalidWatermark):
        world.subscribe(ALICE, watermark="bm90IG91cnM=")
    with pytest.raises(SubscriptionNotFound):
        world.get_events(sub_id)


def test_pull_subscription_expires_after_its_timeout_without_get_events(world: World, clock: SimClock) -> None:
    sub_id, _ = world.subscribe(ALICE, timeout_minutes=5)
    clock.advance(4 * 60)
    world.get_events(sub_id)  # resets the timer
    clock.advance(4 * 60)
    world.get_events(sub_id)
    clock.advance(6 * 60)
    with pytest.raises(ExpiredSubscription) as info:
        world.get_events(sub_id)
    assert info.value.response_code == "ErrorExpiredSubscription"
    with pytest.raises(SubscriptionNotFound):
        world.get_events(sub_id)


def test_expire_fault(world: World) -> None:
    alice_sub, _ = world.subscribe(ALICE)
    bob_sub, _ = world.subscribe(BOB)
    assert world.expire_subscriptions(ALICE) == 1
    with pytest.raises(ExpiredSubscription):
        world.get_events(alice_sub)
    world.get_events(bob_sub)


def test_streaming_waiter_wakes_on_a_change(world: World) -> None:
    sub_id, _ = world.subscribe(ALICE, "streaming")
    assert world.wait_for_events([sub_id], timeout=0.01) == {}
    got: dict = {}

    def waiter() -> None:
        got.update(world.wait_for_events([sub_id], timeout=5))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    item = appointment(world, "a")
    thread.join(5)
    assert [e.item_id for e in got[sub_id]] == [item.item_id]
    assert world.wait_for_events([sub_id], timeout=0.01) == {}  # delivered once


def test_drop_fault_breaks_current_and_next_streaming_waits(world: World) -> None:
    sub_id, _ = world.subscribe(ALICE, "streaming")
    errors: list[Exception] = []

    def waiter() -> None:
        try:
            world.wait_for_events([sub_id], timeout=5)
        except StreamingConnectionDropped as exc:
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    world.drop_streaming_connections()
    thread.join(5)
    assert errors and time.monotonic() - started < 1
    world.drop_streaming_connections()  # nobody waiting: the next wait drops
    with pytest.raises(StreamingConnectionDropped):
        world.wait_for_events([sub_id], timeout=1)
    assert world.wait_for_events([sub_id], timeout=0.01) == {}


def test_unknown_subscription_ids(world: World) -> None:
    with pytest.raises(SubscriptionNotFound):
        world.get_events("nope")
    with pytest.raises(SubscriptionNotFound):
        world.wait_for_events(["nope"], timeout=0.01)
    with pytest.raises(SubscriptionNotFound):
        world.unsubscribe("nope")


def test_subscription_on_all_folders_and_timestamp_follow_the_clock(world: World, clock: SimClock) -> None:
    sub_id, _ = world.subscribe(ALICE, all_folders=True)
    clock.advance(90)
    appointment(world, "a")
    (event,) = world.get_events(sub_id).events
    assert event.timestamp == NOW + timedelta(seconds=90)


def test_user_deletes_move_to_deleted_items_and_hard_deletes_do_not(world: World) -> None:
    sub_id, watermark = world.subscribe(BOB, "pull", [])
    deleted_items = world.distinguished_folder(BOB, "deleteditems").folder_id
    invite = world.create_meeting(ALICE, "m", datetime(2026, 3, 3, 10), datetime(2026, 3, 3, 11), required=[BOB])
    (bob_copy,) = world.find_items(BOB)
    world.respond(BOB, invite.uid, "Decline")
    scratch = appointment(world, "scratch", BOB)
    world.delete_item(scratch.item_id)  # HardDelete by default
    events = world.get_events(sub_id, watermark).events
    assert [e.event_type for e in events] == [
        EventType.CREATED,
        EventType.MOVED,
        EventType.CREATED,
        EventType.DELETED,
    ]
    moved = events[1]
    assert (moved.old_item_id, moved.old_parent_folder_id) == (bob_copy.item_id, calendar(world, BOB))
    assert moved.parent_folder_id == deleted_items and moved.item_id not in (None, bob_copy.item_id)
    assert events[3].item_id == scratch.item_id and events[3].parent_folder_id == calendar(world, BOB)
    trash_sub, _ = world.subscribe(BOB, folder_ids=[deleted_items])
    world.cancel_meeting(ALICE, invite.uid)
    another = appointment(world, "x", BOB)
    world.delete_item(another.item_id, "MoveToDeletedItems")
    assert [e.event_type for e in world.get_events(trash_sub).events] == [EventType.MOVED]
    _, state, _ = world.sync_folder_items(calendar(world, BOB), None)
    assert world.sync_folder_items(calendar(world, BOB), state).changes == []


def test_concurrent_writers_readers_and_a_streaming_waiter(world: World) -> None:
    sub_id, _ = world.subscribe(ALICE, "streaming")
    seen: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def stream() -> None:
        while not stop.is_set():
            for events in world.wait_for_events([sub_id], timeout=0.05).values():
                seen.extend(e.item_id or "" for e in events if e.event_type == EventType.CREATED)

    def write(n: int) -> None:
        try:
            for k in range(25):
                item = appointment(world, f"{n}-{k}")
                world.update_item(item.item_id, subject=f"{n}-{k}!")
                world.calendar_view(ALICE, NOW, NOW + timedelta(days=3))
                world.sync_folder_items(calendar(world), None, max_changes=7)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    streamer = threading.Thread(target=stream)
    streamer.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(30)
    deadline = time.monotonic() + 10
    while len(seen) < 150 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    streamer.join(5)
    assert errors == []
    assert sorted(seen) == sorted(i.item_id for i in world.find_items(ALICE))
    assert len(seen) == 150


def test_streaming_subscription_expires_after_thirty_minutes_without_a_connection(
    world: World, clock: SimClock
) -> None:
    sub_id, _ = world.subscribe(ALICE, "streaming")
    clock.advance(29 * 60)
    assert world.wait_for_events([sub_id], timeout=0) == {}  # a connection: the timer restarts
    clock.advance(29 * 60)
    assert world.wait_for_events([sub_id], timeout=0) == {}
    clock.advance(31 * 60)
    with pytest.raises(ExpiredSubscription):
        world.wait_for_events([sub_id], timeout=0)
