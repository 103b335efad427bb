"""Change tracking over EWS: SyncFolderItems, pull subscriptions (Subscribe/GetEvents/Unsubscribe) and streaming
subscriptions (GetStreamingEvents as a chunked response of envelopes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from ews_harness import ALICE
from exchangelib import Account, ItemId
from exchangelib.errors import ErrorInvalidSyncStateData, ErrorSubscriptionNotFound
from exchangelib.properties import CreatedEvent, DeletedEvent, ModifiedEvent, StatusEvent

from ews_sim.server import EwsSimulator
from ews_sim.world import World


def _at(hours: int) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1, hours=hours)


def test_sync_folder_items_full_then_incremental_in_pages(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    for n in range(5):
        ews_world.create_appointment(ALICE, f"Item {n}", _at(n), _at(n) + timedelta(minutes=30))
    account = ews_account(ALICE)
    folder = account.calendar
    first = list(folder.sync_items(max_changes_returned=2))  # three SyncFolderItems calls
    assert [kind for kind, _ in first] == ["create"] * 5
    assert {item.subject for _, item in first} == {f"Item {n}" for n in range(5)}
    state = folder.item_sync_state
    assert state
    assert ews_world.gate.counters()["SyncFolderItems"]["NoError"] == 3

    changed = ews_world.create_appointment(ALICE, "New", _at(8), _at(9))
    ews_world.update_item(first[0][1].id, subject="Renamed")
    ews_world.delete_item(first[1][1].id)
    second = list(folder.sync_items(sync_state=state))
    kinds = {kind: item for kind, item in second}
    assert set(kinds) == {"create", "update", "delete"}
    assert kinds["create"].id == changed.item_id
    assert kinds["update"].subject == "Renamed"
    assert kinds["delete"].id == first[1][1].id
    assert list(folder.sync_items(sync_state=folder.item_sync_state)) == []


def test_invalid_sync_state(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    with pytest.raises(ErrorInvalidSyncStateData):
        list(account.calendar.sync_items(sync_state="bm90IGEgc3RhdGU="))
    list(account.calendar.sync_items())
    state = account.calendar.item_sync_state
    ews_world.invalidate_sync_states(ALICE)
    with pytest.raises(ErrorInvalidSyncStateData):
        list(account.calendar.sync_items(sync_state=state))


def test_pull_subscription_delivers_events_then_status(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    sub_id, watermark = account.calendar.subscribe_to_pull(timeout=5)
    (quiet,) = list(account.calendar.get_events(sub_id, watermark))
    assert [type(e) for e in quiet.events] == [StatusEvent]

    item = ews_world.create_appointment(ALICE, "Watched", _at(1), _at(2))
    ews_world.update_item(item.item_id, location="Room 7")
    batches = list(account.calendar.get_events(sub_id, quiet.events[-1].watermark))
    events = [e for b in batches for e in b.events]
    assert CreatedEvent in {type(e) for e in events}
    assert any(isinstance(e, CreatedEvent) and e.item_id.id == item.item_id for e in events)
    assert batches[0].previous_watermark
    assert account.calendar.unsubscribe(sub_id) is True
    with pytest.raises(ErrorSubscriptionNotFound):
        list(account.calendar.get_events(sub_id, events[-1].watermark))


def test_streaming_subscription_pushes_events_keep_alives_and_closes(
    ews_account: Callable[..., Account], ews_world: World, ews_server: EwsSimulator
) -> None:
    account = ews_account(ALICE)
    sub_id = account.calendar.subscribe_to_streaming()
    chunks: list[bytes] = []
    ews_server.observers.append(chunks.append)

    def act() -> None:
        time.sleep(0.4)
        item = ews_world.create_appointment(ALICE, "Live", _at(1), _at(2))
        time.sleep(0.2)
        ews_world.delete_item(item.item_id)

    actor = threading.Thread(target=act)
    actor.start()
    started = time.monotonic()
    notifications = list(account.calendar.get_streaming_events(sub_id, connection_timeout=2))
    elapsed = time.monotonic() - started
    actor.join()
    events = [e for n in notifications for e in n.events]
    assert CreatedEvent in {type(e) for e in events}
    assert {type(e) for e in events} & {DeletedEvent, ModifiedEvent}
    assert 1.5 < elapsed < 5  # ConnectionTimeout=2 "minutes" of one second each in tests
    streamed = [c for c in chunks if b"GetStreamingEventsResponse" in c]
    assert any(b"<m:ConnectionStatus>OK</m:ConnectionStatus>" in c and b"Notification" not in c for c in streamed)
    assert b"<m:ConnectionStatus>Closed</m:ConnectionStatus>" in streamed[-1]
    account.calendar.unsubscribe(sub_id)


def test_streaming_with_unknown_subscription(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE)
    with pytest.raises(ErrorSubscriptionNotFound):
        list(account.calendar.get_streaming_events("bm9zdWNo", connection_timeout=1))


def test_streaming_refuses_a_pull_subscription(ews_account: Callable[..., Account]) -> None:
    from exchangelib.errors import ErrorInvalidSubscription

    account = ews_account(ALICE)
    sub_id, _ = account.calendar.subscribe_to_pull()
    with pytest.raises(ErrorInvalidSubscription):
        list(account.calendar.get_streaming_events(sub_id, connection_timeout=1))


def test_sync_folder_items_ignore_list(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    list(account.calendar.sync_items())
    state = account.calendar.item_sync_state
    quiet = ews_world.create_appointment(ALICE, "Ignored", _at(1), _at(2))
    loud = ews_world.create_appointment(ALICE, "Reported", _at(3), _at(4))
    changes = list(account.calendar.sync_items(sync_state=state, ignore=[ItemId(id=quiet.item_id)]))
    assert [item.id for _, item in changes] == [loud.item_id]
