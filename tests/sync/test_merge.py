"""The merge policy (sync/merge.py): which copy of a meeting users see, and who is told, without a database.

The examples read as the rules; the properties check them over random histories of copies arriving, changing
and going, in one meeting's organizer mailbox and two attendees' mailboxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tc_calendar.model import Attendee, ChangeKind, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.sync.actions import DropItem, DropOccurrence, PutOccurrence
from tc_calendar.sync.content_hash import content_hash
from tc_calendar.sync.merge import NOTHING, Entry, Incoming, Meeting, drop, merge, put

ORGANIZER = "org@example.com"
ANN = "ann@example.com"
BEN = "ben@example.com"
MAILBOXES = [ORGANIZER, ANN, BEN]
MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLANNING = OccurrenceKey("planning")
REVIEW = OccurrenceKey("review")

Meetings = Mapping[OccurrenceKey, Meeting]


def occurrence(key: OccurrenceKey = PLANNING, title: str = "Planning", hour: int = 9) -> Occurrence:
    start = MONDAY_9.replace(hour=hour)
    people = tuple(Attendee(email, email.split("@")[0].title(), Role.REQUIRED) for email in (ANN, BEN))
    organizer = Attendee(ORGANIZER, "Org", Role.ORGANIZER, Response.ORGANIZER)
    return Occurrence(key, title, start, start + timedelta(hours=1), organizer=organizer, attendees=people)


def copy_of(
    mailbox: str,
    key: OccurrenceKey = PLANNING,
    title: str = "Planning",
    response: Response | None = None,
    hour: int = 9,
) -> PutOccurrence:
    """``mailbox``'s copy as the sync core reports it: the organizer's mailbox holds the organizer's copy."""
    version = occurrence(key, title, hour)
    answer = response or (Response.ORGANIZER if mailbox == ORGANIZER else Response.NO_RESPONSE)
    item_id = f"{mailbox}/{key.uid}"
    return PutOccurrence(mailbox, item_id, version, answer, mailbox == ORGANIZER, content_hash(version))


def title_shown(meeting: Meeting, puts: Iterable[PutOccurrence]) -> str | None:
    by_hash = {change.content_hash: change.occurrence.title for change in puts}
    return None if meeting.shown is None else by_hash[meeting.shown.content_hash]


def views(meetings: Meetings) -> dict[tuple[str, OccurrenceKey], tuple[str, Response]]:
    return {
        (user, key): view
        for key, meeting in meetings.items()
        for user in MAILBOXES
        if (view := meeting.view(user)) is not None
    }


# --- the rules, by example -------------------------------------------------------------------------------------


def test_a_new_meeting_is_shown_to_its_mailbox_who_is_told_with_their_answer_and_its_time() -> None:
    merged = put(NOTHING, copy_of(ANN, response=Response.ACCEPTED))

    assert merged.meeting.view(ANN) == (copy_of(ANN).content_hash, Response.ACCEPTED)
    assert merged.written == copy_of(ANN).occurrence
    _, entries = merge({}, [copy_of(ANN, response=Response.ACCEPTED)])
    assert entries == [
        Entry(
            ChangeKind.UPSERT,
            ANN,
            PLANNING,
            {"my_response": "Accepted", "start": "2026-01-05T09:00:00+00:00", "end": "2026-01-05T10:00:00+00:00"},
        )
    ]


def test_the_organizers_copy_replaces_an_attendees_and_everyone_who_sees_it_is_told() -> None:
    stale = copy_of(ANN, title="Planning (old)")
    meetings, _ = merge({}, [stale])

    meetings, entries = merge(meetings, [copy_of(ORGANIZER)])

    assert title_shown(meetings[PLANNING], [stale, copy_of(ORGANIZER)]) == "Planning"
    assert sorted(entry.user for entry in entries) == [ANN, ORGANIZER]


def test_an_attendees_copy_never_replaces_the_organizers_and_only_the_attendee_is_told() -> None:
    meetings, _ = merge({}, [copy_of(ORGANIZER)])
    stale = copy_of(ANN, title="Planning (old)")

    meetings, entries = merge(meetings, [stale])

    assert title_shown(meetings[PLANNING], [stale, copy_of(ORGANIZER)]) == "Planning"
    assert [(entry.kind, entry.user) for entry in entries] == [(ChangeKind.UPSERT, ANN)]


def test_without_the_organizers_copy_the_latest_attendee_copy_is_shown() -> None:
    first, second = copy_of(ANN, title="Planning"), copy_of(BEN, title="Planning, room 2")

    meetings, _ = merge({}, [first, second])

    assert title_shown(meetings[PLANNING], [first, second]) == "Planning, room 2"


def test_when_the_organizers_copy_goes_a_kept_attendee_copy_is_shown_at_once() -> None:
    cancelled = copy_of(ANN, title="Canceled: Planning")
    meetings, _ = merge({}, [copy_of(ORGANIZER), cancelled])

    meetings, entries = merge(meetings, [DropOccurrence(ORGANIZER, PLANNING)])

    assert title_shown(meetings[PLANNING], [cancelled]) == "Canceled: Planning"
    assert [(entry.kind, entry.user) for entry in entries] == [(ChangeKind.DELETE, ORGANIZER), (ChangeKind.UPSERT, ANN)]
    # From now on an attendee's copy may replace it.
    later = copy_of(BEN, title="Planning, moved")
    meetings, _ = merge(meetings, [later])
    assert title_shown(meetings[PLANNING], [later]) == "Planning, moved"


def test_a_copy_that_arrived_before_the_organizers_is_not_kept_so_the_organizers_last_version_stays_shown() -> None:
    # Only a copy that loses when it arrives keeps its version; Exchange updates an attendee's copy when the
    # organizer cancels, and that put replaces the shown content then.
    meetings, _ = merge({}, [copy_of(ANN, title="Planning (old)"), copy_of(ORGANIZER)])

    meetings, entries = merge(meetings, [DropOccurrence(ORGANIZER, PLANNING)])

    assert title_shown(meetings[PLANNING], [copy_of(ORGANIZER)]) == "Planning"
    assert [(entry.kind, entry.user) for entry in entries] == [(ChangeKind.DELETE, ORGANIZER)]


def test_the_same_content_from_another_mailbox_tells_no_one_but_becomes_the_source() -> None:
    meetings, _ = merge({}, [copy_of(ANN)])

    merged = put(meetings[PLANNING], copy_of(ORGANIZER, response=Response.NO_RESPONSE))
    assert merged.meeting.shown is not None and merged.meeting.shown.source_mailbox == ORGANIZER
    assert merged.written is None
    assert [note.user for note in merged.notes] == [ORGANIZER]  # only because it is new in the organizer's view


def test_a_meeting_put_and_dropped_in_one_batch_tells_no_one() -> None:
    assert merge({}, [copy_of(ANN), DropOccurrence(ANN, PLANNING)]) == ({PLANNING: NOTHING}, [])


def test_dropping_an_item_drops_every_occurrence_the_mailbox_holds_through_it() -> None:
    meetings, _ = merge({}, [copy_of(ANN), copy_of(ANN, REVIEW, "Review"), copy_of(BEN)])

    meetings, entries = merge(meetings, [DropItem(ANN, f"{ANN}/{PLANNING.uid}")])

    assert [(entry.kind, entry.user, entry.key) for entry in entries] == [(ChangeKind.DELETE, ANN, PLANNING)]
    assert meetings[PLANNING].view(ANN) is None and meetings[PLANNING].view(BEN) is not None
    assert meetings[REVIEW].view(ANN) is not None


# --- the properties ---------------------------------------------------------------------------------------------

puts = st.builds(
    copy_of,
    st.sampled_from(MAILBOXES),
    st.sampled_from([PLANNING, REVIEW]),
    st.sampled_from(["Planning", "Planning (moved)", "Canceled: Planning"]),
    st.sampled_from([Response.ACCEPTED, Response.DECLINED, None]),
    st.sampled_from([9, 14]),
)
drops = st.builds(DropOccurrence, st.sampled_from(MAILBOXES), st.sampled_from([PLANNING, REVIEW]))
item_drops = st.builds(
    lambda mailbox, key: DropItem(mailbox, f"{mailbox}/{key.uid}"),
    st.sampled_from(MAILBOXES),
    st.sampled_from([PLANNING, REVIEW]),
)
changes = st.one_of(puts, puts, puts, drops, item_drops)
histories = st.lists(changes, max_size=12)


def held_after(history: list[Incoming]) -> dict[OccurrenceKey, Meeting]:
    return merge({}, history)[0]


@settings(deadline=None)
@given(histories)
def test_while_the_organizers_copy_is_held_it_is_what_everyone_sees(history: list[Incoming]) -> None:
    for meeting in held_after(history).values():
        organizers = meeting.copies.get(ORGANIZER)
        if organizers is not None:
            assert meeting.shown is not None
            assert (meeting.shown.source_mailbox, meeting.shown.content_hash) == (ORGANIZER, organizers.content_hash)


@settings(deadline=None)
@given(st.permutations([ORGANIZER, ANN, BEN]), st.permutations([ORGANIZER, ANN, BEN]), histories)
def test_what_users_see_does_not_depend_on_the_order_in_which_the_copies_arrive(
    order: list[str], other_order: list[str], history: list[Incoming]
) -> None:
    versions = {ORGANIZER: copy_of(ORGANIZER), ANN: copy_of(ANN, title="Planning (old)"), BEN: copy_of(BEN, hour=14)}
    start = held_after(history)

    one, _ = merge(start, [versions[mailbox] for mailbox in order])
    other, _ = merge(start, [versions[mailbox] for mailbox in other_order])

    assert views(one) == views(other)


@settings(deadline=None)
@given(histories, changes)
def test_applying_the_same_change_twice_tells_no_one_the_second_time(history: list[Incoming], change: Incoming) -> None:
    once, _ = merge(held_after(history), [change])

    twice, entries = merge(once, [change])

    assert entries == []
    assert views(twice) == views(once)


@settings(deadline=None)
@given(histories)
def test_removing_every_copy_removes_the_occurrence_and_tells_each_viewer_once(history: list[Incoming]) -> None:
    held = held_after(history)
    meeting = held.get(PLANNING, NOTHING)

    after, entries = merge(held, [DropOccurrence(mailbox, PLANNING) for mailbox in sorted(meeting.copies)])

    assert after.get(PLANNING, NOTHING) == NOTHING
    assert sorted((entry.kind, entry.user) for entry in entries) == [
        (ChangeKind.DELETE, mailbox) for mailbox in sorted(meeting.copies)
    ]


@settings(deadline=None)
@given(histories, changes)
def test_a_user_is_told_of_a_change_exactly_when_what_they_see_changed(
    history: list[Incoming], change: Incoming
) -> None:
    before = held_after(history)

    after, entries = merge(before, [change])

    seen, seeing = views(before), views(after)
    changed = {pair for pair in seen.keys() | seeing.keys() if seen.get(pair) != seeing.get(pair)}
    assert {(entry.user, entry.key) for entry in entries} == changed


@settings(deadline=None)
@given(histories, st.lists(changes, min_size=1, max_size=8))
def test_a_batch_tells_each_user_once_per_occurrence_and_the_entry_describes_the_final_state(
    history: list[Incoming], batch: list[Incoming]
) -> None:
    before = held_after(history)

    after, entries = merge(before, batch)

    told = [(entry.user, entry.key) for entry in entries]
    assert len(told) == len(set(told))
    for pair in views(before).keys() | views(after).keys():
        if views(before).get(pair) != views(after).get(pair):
            assert pair in told
    for entry in entries:
        final = after[entry.key]
        view = final.view(entry.user)
        if entry.kind is ChangeKind.DELETE:
            assert view is None
        else:
            assert view is not None and final.shown is not None
            assert entry.payload == {
                "my_response": view[1].value,
                "start": final.shown.start.isoformat(),
                "end": final.shown.end.isoformat(),
            }


@settings(deadline=None)
@given(histories, changes)
def test_one_change_alone_and_in_a_batch_give_the_same_outcome(history: list[Incoming], change: Incoming) -> None:
    held = held_after(history)
    if isinstance(change, PutOccurrence):
        merged = put(held.get(change.occurrence.key, NOTHING), change)
        key = change.occurrence.key
    elif isinstance(change, DropOccurrence):
        merged = drop(held.get(change.key, NOTHING), change.mailbox)
        key = change.key
    else:
        return
    assert merge(held, [change])[0][key] == merged.meeting
