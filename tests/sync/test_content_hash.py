"""The content hash changes exactly when what users see changes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role, Sensitivity
from tc_calendar.sync.content_hash import canonical, content_hash

BASE = Occurrence(
    key=OccurrenceKey("uid-1", datetime(2026, 6, 1, 8, tzinfo=UTC)),
    title="Weekly",
    start=datetime(2026, 6, 1, 8, tzinfo=UTC),
    end=datetime(2026, 6, 1, 9, tzinfo=UTC),
    organizer=Attendee("boss@corp.example", "Boss", Role.ORGANIZER, Response.ORGANIZER),
    attendees=(Attendee("a@corp.example", "A", Role.REQUIRED),),
)


def test_the_hash_is_stable_and_versioned() -> None:
    assert content_hash(BASE) == content_hash(replace(BASE))
    assert content_hash(BASE).startswith("v1:") and len(content_hash(BASE)) == 3 + 64


def test_the_same_instant_in_another_zone_is_the_same_content() -> None:
    moscow = timezone(timedelta(hours=3))
    same = replace(BASE, start=BASE.start.astimezone(moscow), end=BASE.end.astimezone(moscow))
    assert content_hash(same) == content_hash(BASE)


def test_every_visible_change_changes_the_hash() -> None:
    changes = [
        replace(BASE, title="Weekly!"),
        replace(BASE, start=BASE.start + timedelta(minutes=30)),
        replace(BASE, end=BASE.end + timedelta(minutes=30)),
        replace(BASE, all_day=True),
        replace(BASE, location="Room 2"),
        replace(BASE, description="Agenda"),
        replace(BASE, cancelled=True),
        replace(BASE, conference=ConferenceLink("42", "https://tcs/c/42", "tcs")),
        replace(BASE, recurrence_summary="Weekly on Monday"),
        replace(BASE, is_exception=True),
        replace(BASE, attendees=(Attendee("a@corp.example", "A", Role.REQUIRED, Response.ACCEPTED),)),
        replace(BASE, attendees=(Attendee("a@corp.example", "A", Role.OPTIONAL),)),
        replace(BASE, attendees=()),
        replace(BASE, organizer=Attendee("other@corp.example", "Other", Role.ORGANIZER, Response.ORGANIZER)),
        replace(BASE, key=OccurrenceKey("uid-1", None)),
    ]
    hashes = {content_hash(c) for c in changes} | {content_hash(BASE)}
    assert len(hashes) == len(changes) + 1



def test_marking_a_meeting_private_changes_the_hash_and_normal_meetings_keep_theirs() -> None:
    assert content_hash(replace(BASE, sensitivity=Sensitivity.PRIVATE)) != content_hash(BASE)
    # Hashes stored before the sensitivity was kept stay valid for normal meetings: no rewrite of every event.
    assert "sensitivity" not in canonical(BASE)
    assert '"sensitivity":"Private"' in canonical(replace(BASE, sensitivity=Sensitivity.PRIVATE))
