"""Meeting semantics: what each mailbox holds after Outlook users invite, answer, reschedule and cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ews_sim.world import (
    AccessDenied,
    CalendarItemType,
    DayOfWeek,
    LegacyFreeBusyStatus,
    NumberedRecurrence,
    OccurrenceCrossingBoundary,
    OccurrenceDeleted,
    Recurrence,
    ResponseType,
    SimClock,
    WeeklyPattern,
    World,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
ALICE, BOB, CAROL, ERIN = "alice@example.com", "bob@example.com", "carol@example.com", "erin@example.com"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(lambda: NOW)


@pytest.fixture
def world(clock: SimClock) -> World:
    world = World(clock)
    world.add_mailbox(ALICE, "Alice Adams", "Europe/Berlin")
    world.add_mailbox(BOB, "Bob Brown", "America/New_York")
    world.add_mailbox(CAROL, "Carol Chen", "Asia/Tokyo")
    world.add_mailbox(ERIN, "Erin Evans", "Europe/Moscow")
    return world


def week(world: World, smtp: str, start: str = "2026-03-01", days: int = 40) -> list:
    begin = utc(f"{start}T00:00")
    return world.calendar_view(smtp, begin, begin + timedelta(days=days))


def meeting(world: World, **kwargs: object):  # type: ignore[no-untyped-def]
    params: dict = {
        "required": [BOB, CAROL],
        "optional": [("dave@partner.example", "Dave Outside")],
        "location": "Room 1",
    }
    params.update(kwargs)
    return world.create_meeting(ALICE, "Budget", datetime(2026, 3, 3, 10), datetime(2026, 3, 3, 11), **params)


def attendee(item, smtp: str):  # type: ignore[no-untyped-def]
    return next(a for a in [*item.required_attendees, *item.optional_attendees] if a.mailbox.email_address == smtp)


def only(world: World, smtp: str):  # type: ignore[no-untyped-def]
    (item,) = world.find_items(smtp)
    return item


def test_invitation_puts_a_copy_with_the_same_uid_in_each_attendee_calendar(world: World) -> None:
    organizer = meeting(world)
    assert organizer.start == utc("2026-03-03T09:00")  # 10:00 in Berlin
    assert organizer.my_response_type == ResponseType.ORGANIZER and organizer.is_organizer and organizer.is_meeting
    assert [a.response_type for a in organizer.required_attendees] == [ResponseType.UNKNOWN] * 2
    assert organizer.optional_attendees[0].mailbox.name == "Dave Outside"
    for smtp in (BOB, CAROL):
        copy = only(world, smtp)
        assert copy.uid == organizer.uid and copy.item_id != organizer.item_id
        assert copy.my_response_type == ResponseType.NO_RESPONSE_RECEIVED
        assert not copy.is_organizer and copy.organizer is not None and copy.organizer.email_address == ALICE
        assert (copy.start, copy.end, copy.subject, copy.location) == (
            organizer.start,
            organizer.end,
            "Budget",
            "Room 1",
        )
        assert copy.legacy_free_busy_status == LegacyFreeBusyStatus.TENTATIVE
        assert copy.parent_folder_id == world.mailbox(smtp).calendar_folder_id
    assert world.find_items(ERIN) == []
    assert len(world.items_by_uid(organizer.uid)) == 3


def test_meeting_saved_without_sending_stays_with_the_organizer(world: World) -> None:
    meeting(world, send_invitations=False)
    assert world.find_items(BOB) == []


def test_accept_updates_both_sides(world: World, clock: SimClock) -> None:
    organizer = meeting(world)
    clock.advance(60)
    answered = world.respond(BOB, organizer.uid, "Accept")
    assert answered is not None and answered.my_response_type == ResponseType.ACCEPT
    assert answered.legacy_free_busy_status == LegacyFreeBusyStatus.BUSY
    tracked = world.get_item(organizer.item_id)
    assert attendee(tracked, BOB).response_type == ResponseType.ACCEPT
    assert attendee(tracked, BOB).last_response_time == NOW + timedelta(seconds=60)
    assert attendee(tracked, CAROL).response_type == ResponseType.UNKNOWN
    assert tracked.change_key != organizer.change_key
    assert answered.appointment_reply_time == NOW + timedelta(seconds=60)
    assert tracked.display_to == "Bob Brown; Carol Chen" and tracked.display_cc == "Dave Outside"
    assert tracked.meeting_request_was_sent


def test_tentative_by_item_id(world: World) -> None:
    organizer = meeting(world)
    bob_copy = only(world, BOB)
    world.respond(BOB, bob_copy.item_id, ResponseType.TENTATIVE)
    assert only(world, BOB).my_response_type == ResponseType.TENTATIVE
    assert attendee(world.get_item(organizer.item_id), BOB).response_type == ResponseType.TENTATIVE


def test_decline_removes_the_meeting_from_the_attendee_calendar(world: World) -> None:
    organizer = meeting(world)
    assert world.respond(CAROL, organizer.uid, "Decline") is None
    assert world.find_items(CAROL) == []
    assert attendee(world.get_item(organizer.item_id), CAROL).response_type == ResponseType.DECLINE


def test_reschedule_moves_every_copy_and_asks_everyone_again(world: World) -> None:
    organizer = meeting(world)
    world.respond(BOB, organizer.uid, "Accept")
    world.respond(CAROL, organizer.uid, "Decline")
    updated = world.update_meeting(ALICE, organizer.uid, start=datetime(2026, 3, 4, 15), end=datetime(2026, 3, 4, 16))
    assert (updated.start, updated.end) == (utc("2026-03-04T14:00"), utc("2026-03-04T15:00"))
    assert updated.appointment_sequence_number == 1
    assert {a.response_type for a in updated.required_attendees} == {ResponseType.UNKNOWN}
    for smtp in (BOB, CAROL):  # the decliner gets the meeting back
        copy = only(world, smtp)
        assert copy.start == utc("2026-03-04T14:00")
        assert copy.my_response_type == ResponseType.NO_RESPONSE_RECEIVED
        assert copy.appointment_sequence_number == 1


def test_informational_update_keeps_responses_and_does_not_resurrect_declines(world: World) -> None:
    organizer = meeting(world)
    world.respond(BOB, organizer.uid, "Accept")
    world.respond(CAROL, organizer.uid, "Decline")
    updated = world.update_meeting(ALICE, organizer.uid, subject="Budget 2027", body="<p>agenda</p>", body_type="HTML")
    assert updated.appointment_sequence_number == 0
    bob_copy = only(world, BOB)
    assert (bob_copy.subject, bob_copy.body.content, bob_copy.my_response_type) == (
        "Budget 2027",
        "<p>agenda</p>",
        ResponseType.ACCEPT,
    )
    assert world.find_items(CAROL) == []


def test_removed_attendee_gets_a_cancellation_and_added_one_an_invitation(world: World) -> None:
    organizer = meeting(world)
    world.respond(CAROL, organizer.uid, "Accept")
    updated = world.update_meeting(ALICE, organizer.uid, required=[CAROL, ERIN])
    assert [a.mailbox.email_address for a in updated.required_attendees] == [CAROL, ERIN]
    assert attendee(updated, CAROL).response_type == ResponseType.ACCEPT
    bob_copy = only(world, BOB)
    assert bob_copy.is_cancelled and bob_copy.subject == "Canceled: Budget"
    assert only(world, ERIN).my_response_type == ResponseType.NO_RESPONSE_RECEIVED
    assert only(world, CAROL).my_response_type == ResponseType.ACCEPT


def test_cancellation_deletes_the_organizer_item_and_marks_copies(world: World) -> None:
    organizer = meeting(world)
    world.cancel_meeting(ALICE, organizer.uid)
    assert world.find_items(ALICE) == []
    for smtp in (BOB, CAROL):
        copy = only(world, smtp)
        assert copy.is_cancelled and copy.subject == "Canceled: Budget"
        assert copy.legacy_free_busy_status == LegacyFreeBusyStatus.FREE
        assert copy.appointment_state & 4
    world.delete_item(only(world, BOB).item_id)
    assert world.find_items(BOB) == []


def standup(world: World):  # type: ignore[no-untyped-def]
    # Mondays 09:00 Berlin, 4 times from 2 March 2026; Berlin changes to summer time on 29 March.
    rec = Recurrence(WeeklyPattern((DayOfWeek.MONDAY,)), NumberedRecurrence(date(2026, 3, 2), 4))
    return world.create_meeting(
        ALICE, "Standup", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 9, 15), required=[BOB], recurrence=rec
    )


def test_series_appears_as_occurrences_in_every_calendar_view(world: World) -> None:
    master = standup(world)
    assert master.calendar_item_type == CalendarItemType.RECURRING_MASTER
    for smtp in (ALICE, BOB):
        occurrences = week(world, smtp)
        assert [o.start for o in occurrences] == [
            utc("2026-03-02T08:00"),
            utc("2026-03-09T08:00"),
            utc("2026-03-16T08:00"),
            utc("2026-03-23T08:00"),
        ]
        assert {o.calendar_item_type for o in occurrences} == {CalendarItemType.OCCURRENCE}
        assert [o.instance_index for o in occurrences] == [1, 2, 3, 4]
    bob_master = only(world, BOB)
    assert bob_master.first_occurrence is not None and bob_master.first_occurrence.start == utc("2026-03-02T08:00")
    assert bob_master.last_occurrence is not None and bob_master.last_occurrence.start == utc("2026-03-23T08:00")


def test_occurrence_change_becomes_an_exception_everywhere(world: World) -> None:
    master = standup(world)
    world.respond(BOB, master.uid, "Accept")
    exception = world.update_occurrence(
        ALICE, master.uid, 2, subject="Standup (moved)", start=datetime(2026, 3, 10, 9), location="Room 7"
    )
    assert exception.calendar_item_type == CalendarItemType.EXCEPTION
    assert (exception.start, exception.end) == (utc("2026-03-10T08:00"), utc("2026-03-10T08:15"))
    assert exception.original_start == utc("2026-03-09T08:00")
    bob_view = week(world, BOB)
    moved = bob_view[1]
    assert (moved.subject, moved.location, moved.start) == ("Standup (moved)", "Room 7", utc("2026-03-10T08:00"))
    assert moved.calendar_item_type == CalendarItemType.EXCEPTION
    assert moved.my_response_type == ResponseType.NO_RESPONSE_RECEIVED  # must answer the new time
    assert bob_view[0].my_response_type == ResponseType.ACCEPT
    bob_master = only(world, BOB)
    assert [m.original_start for m in bob_master.modified_occurrences] == [utc("2026-03-09T08:00")]
    assert world.get_item(moved.item_id).subject == "Standup (moved)"


def test_later_series_edit_reaches_unmodified_properties_of_exceptions(world: World) -> None:
    master = standup(world)
    world.update_occurrence(ALICE, master.uid, 2, subject="Special")
    world.update_meeting(ALICE, master.uid, location="Room 9")
    second = week(world, BOB)[1]
    assert (second.subject, second.location) == ("Special", "Room 9")


def test_occurrence_delete_everywhere(world: World) -> None:
    master = standup(world)
    world.delete_occurrence(ALICE, master.uid, utc("2026-03-16T08:00"))
    for smtp in (ALICE, BOB):
        assert [o.instance_index for o in week(world, smtp)] == [1, 2, 4]
        (item,) = world.find_items(smtp)
        assert [d.start for d in item.deleted_occurrences] == [utc("2026-03-16T08:00")]
    with pytest.raises(OccurrenceDeleted):
        world.get_occurrence(master.item_id, 3)


def test_declining_one_occurrence(world: World) -> None:
    master = standup(world)
    world.respond(BOB, master.uid, "Decline", occurrence=2)
    assert [o.instance_index for o in week(world, BOB)] == [1, 3, 4]
    organizer_second = week(world, ALICE)[1]
    assert attendee(organizer_second, BOB).response_type == ResponseType.DECLINE
    assert attendee(week(world, ALICE)[0], BOB).response_type == ResponseType.UNKNOWN


def test_rescheduling_the_series_drops_its_exceptions(world: World) -> None:
    master = standup(world)
    world.update_occurrence(ALICE, master.uid, 2, subject="Special")
    world.delete_occurrence(ALICE, master.uid, 3)
    world.update_meeting(ALICE, master.uid, start=datetime(2026, 3, 2, 10), end=datetime(2026, 3, 2, 10, 30))
    occurrences = week(world, BOB)
    assert [o.subject for o in occurrences] == ["Standup"] * 4
    assert occurrences[0].start == utc("2026-03-02T09:00")


def test_delegate_schedules_in_the_owner_calendar(world: World) -> None:
    world.grant_delegate(ALICE, ERIN)
    item = world.create_meeting(
        ALICE, "Board", datetime(2026, 3, 5, 14), datetime(2026, 3, 5, 15), required=[BOB], as_delegate=ERIN
    )
    assert item.mailbox == ALICE and item.organizer is not None and item.organizer.email_address == ALICE
    assert world.find_items(ERIN) == []
    assert only(world, BOB).organizer.email_address == ALICE  # type: ignore[union-attr]
    world.update_meeting(ALICE, item.uid, subject="Board meeting", as_delegate=ERIN)
    assert only(world, BOB).subject == "Board meeting"
    with pytest.raises(AccessDenied):
        world.create_meeting(ALICE, "x", NOW, NOW + timedelta(hours=1), as_delegate=BOB)


def test_change_key_changes_on_every_modification(world: World) -> None:
    item = world.create_appointment(ALICE, "Dentist", datetime(2026, 3, 6, 8), datetime(2026, 3, 6, 9))
    assert not item.is_meeting and item.my_response_type == ResponseType.ORGANIZER
    first = item.change_key
    second = world.update_item(item.item_id, subject="Dentist!").change_key
    third = world.update_item(item.item_id, location="Main St").change_key
    assert len({first, second, third}) == 3
    assert world.get_item(item.item_id).item_id == item.item_id


def test_removed_then_re_added_attendee_must_answer_again(world: World) -> None:
    organizer = meeting(world)
    world.respond(BOB, organizer.uid, "Accept")
    world.update_meeting(ALICE, organizer.uid, required=[CAROL])
    world.update_meeting(ALICE, organizer.uid, required=[CAROL, BOB])
    bob_copy = only(world, BOB)
    assert not bob_copy.is_cancelled and bob_copy.subject == "Budget"
    assert bob_copy.my_response_type == ResponseType.NO_RESPONSE_RECEIVED


def test_extended_properties_merge_and_delete(world: World) -> None:
    key_a, key_b = ("PublicStrings", "A", "String"), ("PublicStrings", "B", "String")
    item = world.create_appointment(
        ALICE, "x", datetime(2026, 3, 6, 8), datetime(2026, 3, 6, 9), extended_properties={key_a: "1"}
    )
    assert world.update_item(item.item_id, extended_properties={key_b: "2"}).extended_properties == {
        key_a: "1",
        key_b: "2",
    }
    assert world.update_item(item.item_id, extended_properties={key_a: None}).extended_properties == {key_b: "2"}


def test_cancellation_prefix_follows_the_organizer_language(world: World) -> None:
    world.add_mailbox("ivan@example.com", "Ivan", "Europe/Moscow", language="ru-RU")
    world.add_mailbox("greta@example.com", "Greta", "Europe/Berlin", language="de")
    ivan = world.create_meeting("ivan@example.com", "Ревью", NOW, NOW + timedelta(hours=1), required=[BOB])
    greta = world.create_meeting("greta@example.com", "Planung", NOW, NOW + timedelta(hours=1), required=[CAROL])
    world.cancel_meeting("ivan@example.com", ivan.uid)
    world.update_meeting("greta@example.com", greta.uid, required=[])
    assert only(world, BOB).subject == "Отменено: Ревью"
    assert only(world, CAROL).subject == "Abgesagt: Planung"


def test_an_occurrence_cannot_skip_over_or_land_on_the_day_of_another(world: World) -> None:
    master = standup(world)  # Mondays 2, 9, 16, 23 March
    for day in (2, 16, 17):
        with pytest.raises(OccurrenceCrossingBoundary) as info:
            world.update_occurrence(ALICE, master.uid, 2, start=datetime(2026, 3, day, 9))
        assert info.value.response_code == "ErrorOccurrenceCrossingBoundary"
    world.delete_occurrence(ALICE, master.uid, 3)  # deleted occurrences do not block
    moved = world.update_occurrence(ALICE, master.uid, 2, start=datetime(2026, 3, 17, 9))
    assert moved.start == utc("2026-03-17T08:00")


def test_a_declined_meeting_can_be_kept_in_the_calendar(world: World) -> None:
    organizer = meeting(world)
    kept = world.respond(CAROL, organizer.uid, "Decline", keep_in_calendar=True)
    assert kept is not None and kept.my_response_type == ResponseType.DECLINE
    assert kept.legacy_free_busy_status == LegacyFreeBusyStatus.FREE
    assert attendee(world.get_item(organizer.item_id), CAROL).response_type == ResponseType.DECLINE
    master = standup(world)
    one = world.respond(BOB, master.uid, "Decline", occurrence=2, keep_in_calendar=True)
    assert one is not None and one.my_response_type == ResponseType.DECLINE
    assert [o.instance_index for o in week(world, BOB) if o.uid == master.uid] == [1, 2, 3, 4]


def test_a_room_accepts_by_itself_and_again_after_a_reschedule(world: World) -> None:
    world.add_mailbox("room@example.com", "Room 1", "Europe/Berlin", auto_accept=True)
    organizer = meeting(world, resources=["room@example.com"])
    assert attendee_in(world.get_item(organizer.item_id).resources, "room@example.com") == ResponseType.ACCEPT
    assert only(world, "room@example.com").my_response_type == ResponseType.ACCEPT
    world.update_meeting(ALICE, organizer.uid, start=datetime(2026, 3, 5, 10), end=datetime(2026, 3, 5, 11))
    assert only(world, "room@example.com").my_response_type == ResponseType.ACCEPT
    assert only(world, BOB).my_response_type == ResponseType.NO_RESPONSE_RECEIVED
    master = world.create_meeting(
        ALICE, "Weekly", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10), resources=["room@example.com"],
        recurrence=Recurrence(WeeklyPattern((DayOfWeek.MONDAY,)), NumberedRecurrence(date(2026, 3, 2), 3)),
    )  # fmt: skip
    world.update_occurrence(ALICE, master.uid, 2, start=datetime(2026, 3, 10, 9))
    moved = [o for o in week(world, "room@example.com") if o.uid == master.uid][1]
    assert moved.my_response_type == ResponseType.ACCEPT


def attendee_in(attendees: list, smtp: str) -> ResponseType:
    return next(a.response_type for a in attendees if a.mailbox.email_address == smtp)


def test_a_room_declines_a_booking_that_overlaps_one_it_holds(world: World) -> None:
    world.add_mailbox("room@example.com", "Room 1", "Europe/Berlin", auto_accept=True)
    first = meeting(world, resources=["room@example.com"])  # 3 March 10:00-11:00 Berlin
    clash = world.create_meeting(
        CAROL, "Clash", datetime(2026, 3, 3, 10, 30), datetime(2026, 3, 3, 11, 30),
        time_zone="Europe/Berlin", resources=["room@example.com"],
    )  # fmt: skip
    assert attendee_in(world.get_item(clash.item_id).resources, "room@example.com") == ResponseType.DECLINE
    assert [i.uid for i in world.find_items("room@example.com")] == [first.uid]
    later = world.create_meeting(
        CAROL, "Later", datetime(2026, 3, 3, 11), datetime(2026, 3, 3, 12),
        time_zone="Europe/Berlin", resources=["room@example.com"],
    )  # fmt: skip
    assert attendee_in(world.get_item(later.item_id).resources, "room@example.com") == ResponseType.ACCEPT
    series = world.create_meeting(
        ALICE, "Weekly", datetime(2026, 3, 3, 11, 30), datetime(2026, 3, 3, 12), resources=["room@example.com"],
        recurrence=Recurrence(WeeklyPattern((DayOfWeek.TUESDAY,)), NumberedRecurrence(date(2026, 3, 3), 4)),
    )  # fmt: skip
    assert attendee_in(world.get_item(series.item_id).resources, "room@example.com") == ResponseType.DECLINE


def test_an_update_carries_a_new_date_time_stamp_to_every_copy(world: World, clock: SimClock) -> None:
    organizer = meeting(world)
    assert only(world, BOB).date_time_stamp == NOW
    clock.advance(120)
    world.update_meeting(ALICE, organizer.uid, subject="Budget v2")
    assert world.get_item(organizer.item_id).date_time_stamp == NOW + timedelta(seconds=120)
    assert only(world, BOB).date_time_stamp == NOW + timedelta(seconds=120)


def test_availability_shows_what_is_not_free(world: World) -> None:
    organizer = meeting(world)
    world.create_appointment(BOB, "Holiday", datetime(2026, 3, 4), datetime(2026, 3, 4), all_day=True)
    begin, end = utc("2026-03-03T00:00"), utc("2026-03-06T00:00")
    assert [(s.subject, s.busy_type) for s in world.availability(BOB, begin, end)] == [
        ("Budget", LegacyFreeBusyStatus.TENTATIVE)
    ]  # the all-day appointment is Free, as Outlook creates them
    world.respond(BOB, organizer.uid, "Accept")
    assert [s.busy_type for s in world.availability(BOB, begin, end)] == [LegacyFreeBusyStatus.BUSY]
    world.cancel_meeting(ALICE, organizer.uid)
    assert world.availability(BOB, begin, end) == []
