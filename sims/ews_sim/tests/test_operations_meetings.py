"""Meeting semantics through EWS: what a second mailbox sees (via GetItem/FindItem) after the organizer acts.

Every test drives unmodified exchangelib over a real socket: the organizer's and the attendee's mailboxes are
opened by impersonation through the service account, as the connector does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from ews_harness import ALICE, BOB, CAROL, USER_PASSWORD
from exchangelib import (
    DELEGATE,
    Account,
    Attendee,
    CalendarItem,
    EWSDateTime,
    EWSTimeZone,
    Mailbox,
)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, Recurrence

BERLIN = EWSTimeZone("Europe/Berlin")


def _start(days: int = 1, hour: int = 10) -> EWSDateTime:
    now = EWSDateTime.now(BERLIN)
    return now.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)


def _only(account: Account, subject_contains: str, start: EWSDateTime, days: int = 1) -> CalendarItem:
    items = [
        i
        for i in account.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=days + 1))
        if subject_contains in i.subject
    ]
    assert len(items) == 1, items
    return items[0]


def _invite(alice: Account, subject: str, start: EWSDateTime, **kwargs: object) -> CalendarItem:
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject=subject,
        start=start,
        end=start + timedelta(hours=1),
        location="Room 1",
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
        **kwargs,
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def test_invitation_reaches_the_attendee_with_no_response_yet(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Planning", start)
    assert created.id

    seen = _only(bob, "Planning", start)
    full = bob.calendar.get(id=seen.id)
    assert full.start == start and full.end == start + timedelta(hours=1)
    assert full.organizer.email_address == ALICE
    assert full.my_response_type == "NoResponseReceived"
    assert full.location == "Room 1"
    assert full.is_meeting and not full.is_cancelled
    assert full.uid == alice.calendar.get(id=created.id).uid
    assert full._start_timezone == BERLIN


def test_invitation_without_sending_stays_with_the_organizer(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    item = CalendarItem(
        account=alice,
        folder=alice.calendar,
        subject="Draft meeting",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    assert [i for i in bob.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=1))] == []


def test_attendee_response_is_recorded_on_the_organizers_item(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Review", start)
    bobs = bob.calendar.get(id=_only(bob, "Review", start).id)
    bobs.accept(body="See you")

    assert bob.calendar.get(id=bobs.id).my_response_type == "Accept"
    organizer_copy = alice.calendar.get(id=created.id)
    (attendee,) = organizer_copy.required_attendees
    assert attendee.mailbox.email_address == BOB
    assert attendee.response_type == "Accept"
    assert attendee.last_response_time is not None
    assert organizer_copy.my_response_type == "Organizer"


def test_tentative_and_decline(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Maybe", start)
    bob.calendar.get(id=_only(bob, "Maybe", start).id).tentatively_accept()
    assert alice.calendar.get(id=created.id).required_attendees[0].response_type == "Tentative"
    bob.calendar.get(id=_only(bob, "Maybe", start).id).decline()
    assert alice.calendar.get(id=created.id).required_attendees[0].response_type == "Decline"
    # Exchange's default: a declined meeting leaves the attendee's calendar.
    assert list(bob.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=1))) == []


def test_reschedule_moves_the_attendee_copy(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Moving", start)
    bob.calendar.get(id=_only(bob, "Moving", start).id).accept()

    item = alice.calendar.get(id=created.id)
    item.start, item.end = start + timedelta(hours=2), start + timedelta(hours=3)
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    moved = bob.calendar.get(id=_only(bob, "Moving", start).id)
    assert moved.start == start + timedelta(hours=2)
    assert moved.end == start + timedelta(hours=3)
    # A time change asks attendees to respond again.
    assert moved.my_response_type == "NoResponseReceived"
    assert moved.appointment_sequence_number >= 1


def test_cancellation_marks_the_attendee_copy_cancelled(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Doomed", start)
    alice.calendar.get(id=created.id).cancel()

    copy = bob.calendar.get(id=_only(bob, "Doomed", start).id)
    assert copy.is_cancelled
    assert copy.subject.startswith("Canceled: ")
    assert list(alice.calendar.view(start=start - timedelta(days=1), end=start + timedelta(days=1))) == []


def test_delete_with_cancellations_cancels_for_attendees(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Deleted by organizer", start)
    alice.calendar.get(id=created.id).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    assert bob.calendar.get(id=_only(bob, "Deleted by organizer", start).id).is_cancelled


def test_occurrence_change_and_deletion_show_in_the_attendee_series(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(
        alice, "Daily", start, recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=5)
    )
    master = alice.calendar.get(id=created.id)
    assert master.type == "RecurringMaster"

    second = master.occurrence(index=2)
    second.refresh()
    second.start, second.end = second.start + timedelta(hours=1), second.end + timedelta(hours=1)
    second.subject = "Daily (moved)"
    second.save(update_fields=["start", "end", "subject"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    third = master.occurrence(index=3)
    third.refresh()
    third.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)

    bob_view = [i for i in bob.calendar.view(start=start - timedelta(hours=1), end=start + timedelta(days=6))]
    assert [i.type for i in bob_view] == ["Occurrence", "Exception", "Occurrence", "Occurrence"]
    assert bob_view[1].subject == "Daily (moved)"
    assert bob_view[1].start == start + timedelta(days=1, hours=1)
    bob_master = bob.calendar.get(id=bob_view[0].id).recurring_master()
    bob_master.refresh()  # GetItem with RecurringMasterItemId
    assert bob_master.type == "RecurringMaster"
    assert [d.start for d in bob_master.deleted_occurrences] == [start + timedelta(days=2)]
    (modified,) = bob_master.modified_occurrences
    assert modified.original_start == start + timedelta(days=1)
    assert modified.start == start + timedelta(days=1, hours=1)


def test_delegate_created_meeting_names_the_owner_as_organizer(ews_account: Callable[..., Account]) -> None:
    # Carol is Alice's delegate and signs in as herself (no impersonation) to schedule in Alice's calendar.
    carol = ews_account(ALICE, login=CAROL, password=USER_PASSWORD, access_type=DELEGATE)
    bob = ews_account(BOB)
    start = _start()
    item = CalendarItem(
        account=carol,
        folder=carol.calendar,
        subject="For Alice",
        start=start,
        end=start + timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BOB), response_type="Unknown")],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    copy = bob.calendar.get(id=_only(bob, "For Alice", start).id)
    assert copy.organizer.email_address == ALICE
    assert CAROL not in {a.mailbox.email_address for a in copy.required_attendees or []}


def test_accepting_one_occurrence(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    _invite(
        alice, "Series", start, recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=3)
    )
    occurrences = list(bob.calendar.view(start=start - timedelta(hours=1), end=start + timedelta(days=4)))
    assert [o.my_response_type for o in occurrences] == ["NoResponseReceived"] * 3
    second = bob.calendar.get(id=occurrences[1].id)
    second.accept()
    after = list(bob.calendar.view(start=start - timedelta(hours=1), end=start + timedelta(days=4)))
    assert [o.my_response_type for o in after] == ["NoResponseReceived", "Accept", "NoResponseReceived"]


def test_attendee_cannot_cancel_and_organizer_cannot_respond(ews_account: Callable[..., Account]) -> None:
    from exchangelib.errors import ErrorInvalidOperation

    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Roles", start)
    with pytest.raises(ErrorInvalidOperation):
        bob.calendar.get(id=_only(bob, "Roles", start).id).cancel()
    with pytest.raises(ErrorInvalidOperation):
        alice.calendar.get(id=created.id).accept()


def test_conflict_resolution_never_overwrite_rejects_a_stale_change_key(ews_account: Callable[..., Account]) -> None:
    from exchangelib.errors import ErrorIrresolvableConflict
    from exchangelib.items import NEVER_OVERWRITE

    alice = ews_account(ALICE)
    start = _start()
    created = _invite(alice, "Contested", start)
    stale = alice.calendar.get(id=created.id)
    fresh = alice.calendar.get(id=created.id)
    fresh.location = "Room 2"
    fresh.save(update_fields=["location"], send_meeting_invitations=SEND_TO_NONE)
    stale.subject = "Overwritten?"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(
            update_fields=["subject"], conflict_resolution=NEVER_OVERWRITE, send_meeting_invitations=SEND_TO_NONE
        )
    # The default AutoResolve applies the change anyway, as Exchange does for non-conflicting properties.
    stale.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    assert alice.calendar.get(id=created.id).subject == "Overwritten?"


def test_delete_item_field_clears_a_property(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "No room", start)
    item = alice.calendar.get(id=created.id)
    item.location = None
    item.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert alice.calendar.get(id=created.id).location is None
    assert bob.calendar.get(id=_only(bob, "No room", start).id).location is None


def test_is_recurring_follows_exchanges_documented_quirk(ews_account: Callable[..., Account]) -> None:
    # IsRecurring is false on the organizer's recurring master but true on the attendee's, and true on occurrences.
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(
        alice, "Quirk", start, recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=2)
    )
    assert alice.calendar.get(id=created.id).is_recurring is False
    occurrence = next(iter(bob.calendar.view(start=start - timedelta(hours=1), end=start + timedelta(days=3))))
    assert bob.calendar.get(id=occurrence.id).is_recurring is True
    bob_master = bob.calendar.get(id=occurrence.id).recurring_master()
    bob_master.refresh()
    assert bob_master.is_recurring is True


def test_response_objects_and_rights_offered_per_role(ews_account: Callable[..., Account]) -> None:
    alice, bob = ews_account(ALICE), ews_account(BOB)
    start = _start()
    created = _invite(alice, "Offers", start)
    organizer_side = alice.calendar.get(id=created.id).response_objects
    attendee_side = bob.calendar.get(id=_only(bob, "Offers", start).id).response_objects
    assert organizer_side.cancel_calendar_item is not None and organizer_side.accept_item is None
    assert attendee_side.accept_item is not None and attendee_side.decline_item is not None
    assert attendee_side.cancel_calendar_item is None
    rights = alice.calendar.get(id=created.id).effective_rights
    assert rights.modify and rights.delete and rights.read
    assert alice.calendar.get(id=created.id).conversation_id is not None
