"""Planning brings the store's view of a mailbox to what the mailbox shows, and only does real work."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tc_calendar.model import Occurrence, OccurrenceKey, Response
from tc_calendar.sync.actions import Action, DropItem, DropOccurrence, PutOccurrence, SaveCheckpoint
from tc_calendar.sync.diff import StoredScope, StoredView, plan_full_sync, plan_incremental, put_for, view_of
from tc_calendar.sync.normalize import SeenOccurrence
from tc_calendar.sync.window import SyncWindow

MAILBOX = "a@corp.example"
WINDOW = SyncWindow(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def seen(uid: str, title: str = "Meeting", *, item_id: str | None = None, rid: int | None = None,
         response: Response = Response.ACCEPTED) -> SeenOccurrence:  # fmt: skip
    recurrence_id = T0 + timedelta(days=rid) if rid is not None else None
    occurrence = Occurrence(OccurrenceKey(uid, recurrence_id), title, T0, T0 + timedelta(hours=1))
    return SeenOccurrence(MAILBOX, item_id or f"item-{uid}", occurrence, response, False)


Model = dict[OccurrenceKey, StoredView]


def apply(actions: list[Action], model: Model) -> Model:
    """The store's rules (tc_calendar.sync.actions) on a dict: the model every plan is checked against."""
    out = dict(model)
    for action in actions:
        if isinstance(action, PutOccurrence):
            out[action.occurrence.key] = view_of(action)
        elif isinstance(action, DropOccurrence):
            out.pop(action.key, None)
        elif isinstance(action, DropItem):
            out = {k: v for k, v in out.items() if v.item_id != action.item_id}
    return out


def view(occurrences: list[SeenOccurrence]) -> Model:
    return {s.occurrence.key: view_of(put_for(s)) for s in occurrences}


def work(actions: list[Action]) -> list[Action]:
    return [a for a in actions if not isinstance(a, SaveCheckpoint)]


def test_a_first_sync_puts_everything_and_saves_the_checkpoint_last() -> None:
    actions = plan_full_sync(MAILBOX, [seen("u1"), seen("u2")], {}, sync_state="S1", window=WINDOW)
    assert [type(a) for a in actions] == [PutOccurrence, PutOccurrence, SaveCheckpoint]
    assert actions[-1] == SaveCheckpoint(MAILBOX, "S1", WINDOW.start, WINDOW.end)


def test_an_item_touched_without_visible_change_causes_no_work() -> None:
    stored = view([seen("u1")])
    assert work(plan_full_sync(MAILBOX, [seen("u1")], stored, sync_state="S2", window=WINDOW)) == []


def test_a_changed_title_or_answer_is_put_again_and_vanished_ones_dropped() -> None:
    stored = view([seen("u1"), seen("u2"), seen("u3")])
    now = [seen("u1", "Renamed"), seen("u2", response=Response.DECLINED)]
    actions = work(plan_full_sync(MAILBOX, now, stored, sync_state="S2", window=WINDOW))
    assert actions == [DropOccurrence(MAILBOX, OccurrenceKey("u3")), put_for(now[0]), put_for(now[1])]


def test_incremental_drops_deleted_items_and_what_an_updated_series_no_longer_produces() -> None:
    series = [seen("s", item_id="master", rid=d) for d in (0, 7, 14)]
    stored = view([*series, seen("single")])
    shortened = [series[0], replace(series[1], occurrence=replace(series[1].occurrence, title="Moved"))]
    actions = work(
        plan_incremental(MAILBOX, {"master": shortened}, ["item-single"], stored, sync_state="S3", window=WINDOW)
    )
    assert actions == [
        DropItem(MAILBOX, "item-single"),
        DropOccurrence(MAILBOX, series[2].occurrence.key),
        put_for(shortened[1]),
    ]


def test_an_item_that_shows_nothing_any_more_drops_its_occurrences() -> None:
    stored = view([seen("u1")])
    actions = work(plan_incremental(MAILBOX, {"item-u1": []}, [], stored, sync_state="S", window=WINDOW))
    assert actions == [DropOccurrence(MAILBOX, OccurrenceKey("u1"))]


def test_a_key_moving_to_another_item_in_the_same_page_is_kept() -> None:
    stored = view([seen("u1", item_id="old")])
    moved = seen("u1", item_id="new")
    actions = plan_incremental(MAILBOX, {"old": [], "new": [moved]}, ["old"], stored, sync_state="S", window=WINDOW)
    assert apply(actions, stored) == view([moved])


# --------------------------------------------------------------------------------------------------- properties

uids = st.sampled_from(["u1", "u2", "u3", "u4", "u5"])
titles = st.sampled_from(["A", "B"])
responses = st.sampled_from(list(Response))
items = st.sampled_from(["i1", "i2", "i3"])
occurrences = st.builds(
    lambda uid, rid, title, item, response: seen(uid, title, item_id=item, rid=rid, response=response),
    uids, st.none() | st.integers(0, 2), titles, items, responses,
)  # fmt: skip


def unique(found: list[SeenOccurrence]) -> list[SeenOccurrence]:
    return list({s.occurrence.key: s for s in found}.values())


@settings(deadline=None)
@given(st.lists(occurrences), st.lists(occurrences))
def test_a_full_plan_makes_the_store_equal_the_mailbox_and_replanning_does_nothing(
    before: list[SeenOccurrence], remote: list[SeenOccurrence]
) -> None:
    stored = view(unique(before))
    remote = unique(remote)
    after = apply(plan_full_sync(MAILBOX, remote, stored, sync_state="S", window=WINDOW), stored)
    assert after == view(remote)
    assert work(plan_full_sync(MAILBOX, remote, after, sync_state="S", window=WINDOW)) == []


World = dict[str, list[SeenOccurrence]]


def world_view(world: World) -> Model:
    return view([s for group in world.values() for s in group])


worlds = st.dictionaries(items, st.lists(occurrences, max_size=4)).map(
    lambda w: _exclusive({item: [replace(s, item_id=item) for s in group] for item, group in w.items()})
)


def _exclusive(world: World) -> World:
    """Each key belongs to one item, as in a real calendar."""
    owner: dict[OccurrenceKey, str] = {}
    out: World = {}
    for item, group in world.items():
        out[item] = [s for s in unique(group) if owner.setdefault(s.occurrence.key, item) == item]
    return out


@settings(deadline=None)
@given(worlds, worlds)
def test_an_incremental_plan_turns_the_old_world_into_the_new_one(old: World, new: World) -> None:
    stored = world_view(old)
    changed = {item: group for item, group in new.items() if old.get(item) != group}
    deleted = [item for item in old if item not in new]
    actions = plan_incremental(MAILBOX, changed, deleted, stored, sync_state="S", window=WINDOW)
    after = apply(actions, stored)
    assert after == world_view(new)
    assert (
        work(plan_full_sync(MAILBOX, [s for g in new.values() for s in g], after, sync_state="S", window=WINDOW)) == []
    )


@settings(deadline=None)
@given(worlds, worlds)
def test_an_incremental_plan_needs_only_the_stored_occurrences_of_the_changed_items_and_their_uids(
    old: World, new: World
) -> None:
    """So the engine reads that part of the store for a change, not the mailbox's whole calendar."""
    stored = world_view(old)
    changed = {item: group for item, group in new.items() if old.get(item) != group}
    deleted = [item for item in old if item not in new]
    scope = StoredScope(
        frozenset(changed) | frozenset(deleted), frozenset(s.occurrence.key.uid for g in changed.values() for s in g)
    )
    in_scope = {key: view for key, view in stored.items() if scope.covers(key, view)}

    assert plan_incremental(MAILBOX, changed, deleted, in_scope, sync_state="S", window=WINDOW) == plan_incremental(
        MAILBOX, changed, deleted, stored, sync_state="S", window=WINDOW
    )
