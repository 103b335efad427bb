"""What each user sees of the items in their mailbox (seed 4.1, 4.1.2, 4.2.2, 4.2.3)."""

from dataclasses import replace
from datetime import UTC, date, datetime

from tc_calendar.model import Attendee, ConferenceLink, OccurrenceKey, Response, Role
from tc_calendar.records import (
    BodyType,
    DayOfWeek,
    ItemBody,
    ItemKind,
    ModifiedOccurrence,
    Person,
    RecurrencePattern,
    RecurrenceRange,
    RecurrenceType,
    RemoteAttendee,
    RemoteItem,
)
from tc_calendar.sync.links import LinkFinder
from tc_calendar.sync.normalize import SeenOccurrence, normalize_item, normalize_items
from tc_calendar.sync.window import SyncWindow

POSTMAN, MAIL169, OPTIONAL = "postman@corp.example", "mail_test169@corp.example", "opt@corp.example"
WINDOW = SyncWindow(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC))
LINKS = LinkFinder()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def marketing_meeting(mailbox: str, **changes: object) -> RemoteItem:
    """Seed 4.1's example: Postman invites mail_test169 on 28 June 2025, 08:00-08:30."""
    item = RemoteItem(
        mailbox=mailbox,
        item_id=f"id-{mailbox}",
        uid="uid-marketing",
        kind=ItemKind.SINGLE,
        subject="Marketing department meeting",
        start=utc(2025, 6, 28, 8),
        end=utc(2025, 6, 28, 8, 30),
        body=ItemBody("<p>Discussion of the work done last week.</p>", BodyType.HTML),
        organizer=Person(POSTMAN, "Postman"),
        required_attendees=(RemoteAttendee(MAIL169, "mail_test169"),),
        my_response=Response.ORGANIZER if mailbox == POSTMAN else Response.NO_RESPONSE,
        is_meeting=True,
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def only(seen: list[SeenOccurrence]) -> SeenOccurrence:
    assert len(seen) == 1, seen
    return seen[0]


def test_given_a_meeting_in_the_organizers_mailbox_the_organizer_sees_it_as_organizer() -> None:
    seen = only(normalize_item(marketing_meeting(POSTMAN), WINDOW, LINKS))
    assert (seen.mailbox, seen.item_id, seen.my_response, seen.from_organizer_copy) == (
        POSTMAN, f"id-{POSTMAN}", Response.ORGANIZER, True,
    )  # fmt: skip
    occurrence = seen.occurrence
    assert occurrence.key == OccurrenceKey("uid-marketing")
    assert occurrence.title == "Marketing department meeting"
    assert occurrence.description == "Discussion of the work done last week."
    assert occurrence.organizer == Attendee(POSTMAN, "Postman", Role.ORGANIZER, Response.ORGANIZER)
    assert occurrence.attendees == (Attendee(MAIL169, "mail_test169", Role.REQUIRED, Response.NO_RESPONSE),)
    assert occurrence.conference is None


def test_the_attendee_sees_the_same_event_with_their_own_answer() -> None:
    organizer_view = only(normalize_item(marketing_meeting(POSTMAN), WINDOW, LINKS))
    attendee_copy = marketing_meeting(MAIL169, my_response=Response.ACCEPTED)
    attendee_view = only(normalize_item(attendee_copy, WINDOW, LINKS))
    assert attendee_view.occurrence == organizer_view.occurrence  # one event, whichever mailbox it came from
    assert (attendee_view.my_response, attendee_view.from_organizer_copy) == (Response.ACCEPTED, False)


def test_an_attendee_without_their_own_record_gets_the_answer_from_the_attendee_list() -> None:
    copy = marketing_meeting(MAIL169, required_attendees=(RemoteAttendee(MAIL169, "mail_test169", Response.TENTATIVE),))
    assert only(normalize_item(copy, WINDOW, LINKS)).my_response is Response.TENTATIVE


def test_roles_and_answers_of_every_participant_each_listed_once() -> None:
    item = marketing_meeting(
        POSTMAN,
        required_attendees=(
            RemoteAttendee(POSTMAN, "Postman", Response.ORGANIZER),
            RemoteAttendee(MAIL169, "mail_test169", Response.ACCEPTED, utc(2025, 6, 20)),
        ),
        optional_attendees=(RemoteAttendee(OPTIONAL, "Opt", Response.DECLINED), RemoteAttendee(MAIL169, "dup")),
    )
    occurrence = only(normalize_item(item, WINDOW, LINKS)).occurrence
    assert occurrence.attendees == (
        Attendee(MAIL169, "mail_test169", Role.REQUIRED, Response.ACCEPTED, utc(2025, 6, 20)),
        Attendee(OPTIONAL, "Opt", Role.OPTIONAL, Response.DECLINED),
    )


def test_a_copy_in_the_calendar_of_someone_not_invited_is_not_shown() -> None:
    delegates_copy = marketing_meeting("secretary@corp.example")
    assert normalize_item(delegates_copy, WINDOW, LINKS) == []


def test_someone_invited_through_a_distribution_list_who_accepted_sees_it() -> None:
    copy = marketing_meeting("member@corp.example", my_response=Response.ACCEPTED)
    assert only(normalize_item(copy, WINDOW, LINKS)).my_response is Response.ACCEPTED


def test_a_meeting_a_secretary_scheduled_for_her_boss_shows_the_boss_as_organizer() -> None:
    # Exchange records the owner as organizer and keeps the organizer copy in the owner's calendar.
    boss_copy = marketing_meeting("boss@corp.example", organizer=Person("boss@corp.example", "Boss"))
    attendee_copy = marketing_meeting(MAIL169, organizer=Person("boss@corp.example", "Boss"))
    boss = only(normalize_item(boss_copy, WINDOW, LINKS))
    attendee = only(normalize_item(attendee_copy, WINDOW, LINKS))
    assert boss.from_organizer_copy and boss.my_response is Response.ORGANIZER
    assert attendee.occurrence.organizer == Attendee("boss@corp.example", "Boss", Role.ORGANIZER, Response.ORGANIZER)
    assert (
        normalize_item(marketing_meeting("secretary@corp.example", organizer=boss_copy.organizer), WINDOW, LINKS) == []
    )


def test_a_personal_appointment_is_its_owners_own() -> None:
    appointment = marketing_meeting("alone@corp.example", organizer=None, required_attendees=())
    seen = only(normalize_item(appointment, WINDOW, LINKS))
    assert seen.from_organizer_copy and seen.occurrence.organizer == Attendee(
        "alone@corp.example", "", Role.ORGANIZER, Response.ORGANIZER
    )


def test_a_cancelled_meeting_stays_marked_cancelled_and_is_never_prefixed_twice() -> None:
    cancelled = marketing_meeting(MAIL169, is_cancelled=True)
    occurrence = only(normalize_item(cancelled, WINDOW, LINKS)).occurrence
    assert occurrence.cancelled and occurrence.title == "Marketing department meeting"
    assert occurrence.display_title == "Canceled: Marketing department meeting"


def test_a_conference_link_behind_an_anchor_is_found_and_location_links_win() -> None:
    body = ItemBody('<p>Click <a href="https://tcs.corp.example/c/5576502892">Join</a></p>', BodyType.HTML)
    item = marketing_meeting(MAIL169, body=body)
    occurrence = only(normalize_item(item, WINDOW, LINKS)).occurrence
    assert occurrence.description == "Click Join"
    assert occurrence.conference == ConferenceLink(
        "5576502892", "https://tcs.corp.example/c/5576502892", "tcs.corp.example"
    )
    located = marketing_meeting(MAIL169, body=body, location="\\c\\room_7@tcs.corp.example#vcs")
    assert only(normalize_item(located, WINDOW, LINKS)).occurrence.conference == ConferenceLink(
        "room_7", "https://tcs.corp.example/c/room_7", "tcs.corp.example"
    )


def test_an_online_meeting_address_kept_outside_the_body_links_the_conference() -> None:
    item = marketing_meeting(MAIL169, meeting_urls=("https://tcs.corp.example/webrtc/board",))
    assert only(normalize_item(item, WINDOW, LINKS)).occurrence.conference == ConferenceLink(
        "board", "https://tcs.corp.example/c/board", "tcs.corp.example"
    )


def test_plain_text_bodies_are_tidied_not_parsed() -> None:
    item = marketing_meeting(MAIL169, body=ItemBody("a < b\r\n\r\n\r\nc", BodyType.TEXT))
    assert only(normalize_item(item, WINDOW, LINKS)).occurrence.description == "a < b\n\nc"


def test_items_outside_the_window_are_not_shown() -> None:
    old = marketing_meeting(MAIL169, start=utc(2024, 1, 1, 8), end=utc(2024, 1, 1, 9))
    assert normalize_item(old, WINDOW, LINKS) == []


def test_an_all_day_event_keeps_its_dates() -> None:
    item = marketing_meeting(MAIL169, is_all_day=True, start=utc(2025, 6, 28), end=utc(2025, 6, 29))
    occurrence = only(normalize_item(item, WINDOW, LINKS)).occurrence
    assert (occurrence.all_day, occurrence.start, occurrence.end) == (True, utc(2025, 6, 28), utc(2025, 6, 29))


WEEKLY_MONDAYS = RecurrencePattern(
    RecurrenceType.WEEKLY, RecurrenceRange(date(2025, 6, 2), end_date=date(2025, 6, 30)), weekdays=(DayOfWeek.MONDAY,)
)


def weekly_master(mailbox: str, **changes: object) -> RemoteItem:
    """Seed 4.2.2's example: weekly on Mondays in June 2025, 10:00 Moscow time."""
    series: dict[str, object] = {
        "item_id": "master-1",
        "uid": "uid-weekly",
        "kind": ItemKind.MASTER,
        "subject": "Weekly",
        "start": utc(2025, 6, 2, 7),
        "end": utc(2025, 6, 2, 8),
        "start_timezone": "Europe/Moscow",
        "recurrence": WEEKLY_MONDAYS,
    }
    return marketing_meeting(mailbox, **(series | changes))


def test_a_weekly_series_becomes_its_occurrences_each_with_its_original_start_as_identity() -> None:
    master = weekly_master(
        MAIL169,
        modified_occurrences=(ModifiedOccurrence(utc(2025, 6, 16, 7), utc(2025, 6, 17, 12), utc(2025, 6, 17, 13)),),
        deleted_occurrences=(utc(2025, 6, 23, 7),),
    )
    seen = normalize_item(master, WINDOW, LINKS)
    assert [(s.occurrence.key.recurrence_id, s.occurrence.start, s.occurrence.is_exception) for s in seen] == [
        (utc(2025, 6, 2, 7), utc(2025, 6, 2, 7), False),
        (utc(2025, 6, 9, 7), utc(2025, 6, 9, 7), False),
        (utc(2025, 6, 16, 7), utc(2025, 6, 17, 12), True),
        (utc(2025, 6, 30, 7), utc(2025, 6, 30, 7), False),
    ]
    assert {s.item_id for s in seen} == {"master-1"}
    assert {s.occurrence.recurrence_summary for s in seen} == {"Weekly on Monday until 2025-06-30"}


def test_an_exceptions_own_content_replaces_the_masters_for_that_occurrence() -> None:
    exception = weekly_master(
        MAIL169,
        item_id="exc-1",
        kind=ItemKind.EXCEPTION,
        recurrence=None,
        subject="Weekly (moved, longer)",
        recurrence_id=utc(2025, 6, 16, 7),
        start=utc(2025, 6, 17, 12),
        end=utc(2025, 6, 17, 14),
    )
    master = weekly_master(
        MAIL169,
        modified_occurrences=(ModifiedOccurrence(utc(2025, 6, 16, 7), utc(2025, 6, 17, 12), utc(2025, 6, 17, 14)),),
        exceptions=(exception,),
    )
    moved = [s for s in normalize_item(master, WINDOW, LINKS) if s.occurrence.is_exception]
    assert [(s.item_id, s.occurrence.title, s.occurrence.end) for s in moved] == [
        ("master-1", "Weekly (moved, longer)", utc(2025, 6, 17, 14))
    ]


def test_an_occurrence_read_on_its_own_wins_over_the_same_occurrence_expanded_from_the_master() -> None:
    occurrence = weekly_master(
        MAIL169,
        item_id="occ-2",
        master_item_id="master-1",
        kind=ItemKind.OCCURRENCE,
        subject="Weekly (as read)",
        recurrence_id=utc(2025, 6, 9, 7),
        start=utc(2025, 6, 9, 7),
        end=utc(2025, 6, 9, 8),
    )
    seen = normalize_items([occurrence, weekly_master(MAIL169)], WINDOW, LINKS)
    assert len(seen) == 5
    second = seen[1]
    assert (second.item_id, second.occurrence.title) == ("master-1", "Weekly (as read)")
    assert second.occurrence.recurrence_summary == "Weekly on Monday until 2025-06-30"


def test_a_single_meeting_beyond_forward_is_seen_and_an_occurrence_there_is_not() -> None:
    """Guide 3.1.2: backward/forward bound recurring events; a single meeting is kept up to the safety limit."""
    months_ahead = marketing_meeting(MAIL169, start=utc(2026, 4, 28, 8), end=utc(2026, 4, 28, 8, 30))
    assert only(normalize_item(months_ahead, WINDOW, LINKS)).occurrence.start == utc(2026, 4, 28, 8)
    occurrence = replace(months_ahead, kind=ItemKind.OCCURRENCE, recurrence_id=utc(2026, 4, 28, 8))
    assert normalize_item(occurrence, WINDOW, LINKS) == []
    beyond_limit = marketing_meeting(MAIL169, start=utc(2027, 6, 1, 8), end=utc(2027, 6, 1, 8, 30))
    assert normalize_item(beyond_limit, WINDOW, LINKS) == []


def test_a_single_meeting_older_than_the_windows_start_is_not_seen() -> None:
    old = marketing_meeting(MAIL169, start=utc(2025, 5, 31, 8), end=utc(2025, 5, 31, 8, 30))
    assert normalize_item(old, WINDOW, LINKS) == []
