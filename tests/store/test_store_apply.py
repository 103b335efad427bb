"""Applying sync actions: content, visibility and change-log entries move together (sync/actions.py rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from store_builders import ALICE, BOB, CAROL, MONDAY_9, meeting, put

from store_reads import checkpoint_of, own_copy_hashes
from tc_calendar.model import ChangeKind, OccurrenceKey, Response, Sensitivity
from tc_calendar.store import ConfiguredMailbox, MailboxNotFoundError, Store
from tc_calendar.sync.actions import DropItem, DropOccurrence, SaveCheckpoint
from tc_calendar.sync.diff import StoredScope, StoredView

WEEK = (MONDAY_9 - timedelta(days=1), MONDAY_9 + timedelta(days=6))


async def test_a_new_meeting_is_stored_with_its_attendees_and_logged_for_its_viewer(store: Store) -> None:
    occurrence = meeting(attendees=(BOB, CAROL))

    changes = await store.apply([put(ALICE, occurrence)])

    assert await store.get_occurrence(occurrence.key) == occurrence
    assert [(c.kind, c.user, c.key) for c in changes] == [(ChangeKind.UPSERT, ALICE, occurrence.key)]
    assert changes[0].payload["my_response"] == "Organizer"
    assert await store.changes_after(0) == changes


async def test_every_field_and_recurrence_id_survive_the_round_trip(store: Store) -> None:
    occurrence = replace(
        meeting(recurrence_id=MONDAY_9, conference="team", attendees=(BOB,)),
        all_day=True,
        recurrence_summary="Weekly on Monday",
        is_exception=True,
        cancelled=True,
        sensitivity=Sensitivity.PRIVATE,
    )
    await store.apply([put(ALICE, occurrence)])
    assert await store.get_occurrence(occurrence.key) == occurrence
    assert await store.get_occurrence(OccurrenceKey("uid-1")) is None


async def test_reapplying_the_same_batch_changes_nothing_and_logs_nothing(store: Store) -> None:
    batch = [put(ALICE, meeting()), put(BOB, meeting(), response=Response.ACCEPTED)]
    first = await store.apply(batch)

    assert await store.apply(batch) == []
    assert len(first) == 2
    assert await store.latest_cursor() == first[-1].cursor


async def test_an_attendee_copy_does_not_overwrite_the_organizer_copy(store: Store) -> None:
    await store.apply([put(ALICE, meeting(title="Planning"))])

    changes = await store.apply([put(BOB, meeting(title="Planning (stale copy)"))])

    stored = await store.get_occurrence(meeting().key)
    assert stored is not None and stored.title == "Planning"
    # Bob now sees it (his own entry), but Alice's view did not change.
    assert [(c.user, c.kind) for c in changes] == [(BOB, ChangeKind.UPSERT)]


async def test_the_organizer_copy_replaces_an_attendee_copy_and_every_viewer_is_told(store: Store) -> None:
    await store.apply([put(BOB, meeting(title="From Bob's mailbox"))])

    changes = await store.apply([put(ALICE, meeting(title="From Alice's mailbox"))])

    stored = await store.get_occurrence(meeting().key)
    assert stored is not None and stored.title == "From Alice's mailbox"
    assert sorted(c.user for c in changes) == [ALICE, BOB]
    # Once the organizer copy is stored, Bob's stale copy is ignored.
    assert await store.apply([put(BOB, meeting(title="From Bob's mailbox"))]) == []


async def test_an_attendee_copy_is_used_again_once_the_organizer_copy_is_gone(store: Store) -> None:
    await store.apply([put(ALICE, meeting(title="Planning")), put(BOB, meeting(title="Planning"))])
    await store.apply([DropOccurrence(ALICE, meeting().key)])

    await store.apply([put(BOB, meeting(title="Canceled: Planning", cancelled=True))])

    stored = await store.get_occurrence(meeting().key)
    assert stored is not None and stored.cancelled


async def test_a_cancelled_attendee_copy_takes_over_when_the_organizer_copy_goes(store: Store) -> None:
    """Exchange may update the attendees' copies before it deletes the organizer's item (seed 4.2.3)."""
    await store.apply([put(ALICE, meeting(attendees=(BOB, CAROL))), put(BOB, meeting(attendees=(BOB, CAROL)))])
    await store.apply([put(CAROL, meeting(attendees=(BOB, CAROL)))])
    cancelled = meeting(title="Marketing department meeting", attendees=(BOB, CAROL), cancelled=True)
    assert await store.apply([put(BOB, cancelled)]) == []  # the organizer's copy still wins

    changes = await store.apply([DropOccurrence(ALICE, cancelled.key)])

    assert await store.get_occurrence(cancelled.key) == cancelled
    [(shown, _)] = await store.load_view(CAROL, *WEEK)
    assert shown.display_title == "Canceled: Marketing department meeting"
    assert sorted((c.user, c.kind) for c in changes) == [
        (ALICE, ChangeKind.DELETE),
        (BOB, ChangeKind.UPSERT),
        (CAROL, ChangeKind.UPSERT),
    ]


async def test_a_changed_answer_makes_one_entry_for_that_user_only(store: Store) -> None:
    await store.apply([put(ALICE, meeting(attendees=(BOB, CAROL))), put(BOB, meeting(attendees=(BOB, CAROL)))])
    await store.apply([put(CAROL, meeting(attendees=(BOB, CAROL)))])

    changes = await store.apply([put(BOB, meeting(attendees=(BOB, CAROL)), response=Response.DECLINED)])

    assert [(c.user, c.kind, c.payload["my_response"]) for c in changes] == [(BOB, ChangeKind.UPSERT, "Declined")]
    [(_, my_response)] = await store.load_view(BOB, *WEEK)
    assert my_response is Response.DECLINED


async def test_a_content_change_is_logged_for_everyone_who_sees_it(store: Store) -> None:
    await store.apply([put(ALICE, meeting()), put(BOB, meeting())])

    moved = meeting(start=MONDAY_9 + timedelta(hours=2))
    changes = await store.apply([put(ALICE, moved)])

    assert sorted((c.user, c.kind) for c in changes) == [(ALICE, ChangeKind.UPSERT), (BOB, ChangeKind.UPSERT)]
    assert {c.payload["start"] for c in changes} == {moved.start.isoformat()}


async def test_drop_item_removes_every_occurrence_of_that_item_for_that_mailbox_only(store: Store) -> None:
    series = [meeting(start=MONDAY_9 + timedelta(days=i), recurrence_id=MONDAY_9 + timedelta(days=i)) for i in range(3)]
    await store.apply([put(BOB, o, item_id="bob-series") for o in series] + [put(ALICE, o) for o in series])
    await store.apply([put(BOB, meeting("other"), item_id="bob-other")])

    changes = await store.apply([DropItem(BOB, "bob-series")])

    assert [(c.user, c.kind, c.key) for c in changes] == [(BOB, ChangeKind.DELETE, o.key) for o in series]
    assert [o.key.uid for o, _ in await store.load_view(BOB, *WEEK)] == ["other"]
    assert len(await store.load_view(ALICE, *WEEK)) == 3
    assert await store.apply([DropItem(BOB, "bob-series")]) == []


async def test_one_batch_may_put_a_series_and_drop_its_item_again(store: Store) -> None:
    series = [meeting(start=MONDAY_9 + timedelta(days=i), recurrence_id=MONDAY_9 + timedelta(days=i)) for i in range(3)]
    keep = meeting("keep")

    changes = await store.apply(
        [put(ALICE, o, item_id="series") for o in series] + [put(ALICE, keep), DropItem(ALICE, "series")]
    )

    assert [(o.key.uid, r) for o, r in await store.load_view(ALICE, *WEEK)] == [("keep", Response.ORGANIZER)]
    assert [await store.get_occurrence(o.key) for o in series] == [None, None, None]
    # Nobody ever saw the series: nothing to tell about it.
    assert [(c.key, c.kind) for c in changes] == [(keep.key, ChangeKind.UPSERT)]


async def test_content_is_deleted_when_the_last_mailbox_drops_it(store: Store) -> None:
    await store.apply([put(ALICE, meeting()), put(BOB, meeting())])

    await store.apply([DropOccurrence(BOB, meeting().key)])
    assert await store.get_occurrence(meeting().key) is not None

    changes = await store.apply([DropOccurrence(ALICE, meeting().key)])
    assert [(c.user, c.kind) for c in changes] == [(ALICE, ChangeKind.DELETE)]
    assert await store.get_occurrence(meeting().key) is None


async def test_a_failure_in_the_middle_of_a_batch_leaves_neither_the_change_nor_its_entry(store: Store) -> None:
    window = WEEK
    batch = [put(ALICE, meeting()), SaveCheckpoint("nobody@example.com", "state", *window), put(BOB, meeting())]

    with pytest.raises(MailboxNotFoundError):
        await store.apply(batch)

    assert await store.get_occurrence(meeting().key) is None
    assert await store.changes_after(0) == []
    assert await store.latest_cursor() == 0


async def test_a_checkpoint_is_saved_with_the_changes_it_covers(store: Store) -> None:
    await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])

    await store.apply([put(ALICE, meeting()), SaveCheckpoint(ALICE, "sync-state-1", *WEEK)])

    checkpoint = await checkpoint_of(store, ALICE)
    assert checkpoint is not None
    assert (checkpoint.sync_state, checkpoint.window_start, checkpoint.window_end) == ("sync-state-1", *WEEK)


async def test_the_sync_core_diffs_against_each_mailboxs_own_hashes_and_item_ids(store: Store) -> None:
    organizer_copy = put(ALICE, meeting(title="New title"), item_id="a1")
    stale_attendee_copy = put(BOB, meeting(title="Old title"), item_id="b1")
    await store.apply([organizer_copy, stale_attendee_copy])

    assert await own_copy_hashes(store, BOB) == {meeting().key: stale_attendee_copy.content_hash}
    assert await store.item_ids(BOB) == {meeting().key: "b1"}
    assert await own_copy_hashes(store, ALICE) == {meeting().key: organizer_copy.content_hash}
    assert await own_copy_hashes(store, CAROL) == {}


async def test_stored_views_tell_the_sync_core_what_each_mailbox_last_put(store: Store) -> None:
    organizer_copy = put(ALICE, meeting(), item_id="a1")
    attendee_copy = put(BOB, meeting(), item_id="b1", response=Response.TENTATIVE)
    await store.apply([organizer_copy, attendee_copy])

    assert await store.stored_views(BOB) == {
        meeting().key: StoredView("b1", attendee_copy.content_hash, Response.TENTATIVE, False)
    }
    assert await store.stored_views(ALICE) == {
        meeting().key: StoredView("a1", organizer_copy.content_hash, Response.ORGANIZER, True)
    }


async def test_a_scoped_read_of_stored_views_holds_only_the_given_items_and_uids(store: Store) -> None:
    """An incremental page reads what its items can touch, however large the mailbox's calendar."""
    series = [meeting("series", recurrence_id=MONDAY_9 + timedelta(days=7 * n)) for n in range(3)]
    await store.apply(
        [put(ALICE, occurrence, item_id="master") for occurrence in series]
        + [put(ALICE, meeting("single"), item_id="single-item")]
        + [put(ALICE, meeting(f"other-{n}"), item_id=f"other-item-{n}") for n in range(20)]
    )

    by_item = await store.stored_views(ALICE, StoredScope(frozenset({"master"}), frozenset()))
    by_uid = await store.stored_views(ALICE, StoredScope(frozenset(), frozenset({"single"})))
    nothing = await store.stored_views(ALICE, StoredScope(frozenset(), frozenset()))

    assert set(by_item) == {occurrence.key for occurrence in series}
    assert set(by_uid) == {meeting("single").key}
    assert nothing == {}
    everything = await store.stored_views(ALICE)
    assert len(everything) == 24 and by_item.items() <= everything.items()


async def test_the_view_holds_what_overlaps_the_range_ordered_by_start(store: Store) -> None:
    late = meeting("late", start=MONDAY_9 + timedelta(hours=3))
    early = meeting("early", start=MONDAY_9 - timedelta(minutes=15))
    outside = meeting("outside", start=MONDAY_9 + timedelta(days=30))
    await store.apply([put(ALICE, late), put(ALICE, early), put(ALICE, outside), put(BOB, meeting("bobs"))])

    view = await store.load_view(ALICE, MONDAY_9, MONDAY_9 + timedelta(days=1))

    assert [(o.key.uid, r) for o, r in view] == [("early", Response.ORGANIZER), ("late", Response.ORGANIZER)]
