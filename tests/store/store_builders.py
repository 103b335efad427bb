"""Occurrences and sync actions for store tests, built from a few words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.sync.actions import PutOccurrence

MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"


def meeting(
    uid: str = "uid-1",
    *,
    title: str = "Marketing department meeting",
    start: datetime = MONDAY_9,
    minutes: int = 30,
    recurrence_id: datetime | None = None,
    organizer: str = ALICE,
    attendees: tuple[str, ...] = (BOB,),
    conference: str | None = None,
    cancelled: bool = False,
) -> Occurrence:
    """A meeting organized by ``organizer`` with required ``attendees`` who have not answered."""
    return Occurrence(
        key=OccurrenceKey(uid, recurrence_id),
        title=title,
        start=start,
        end=start + timedelta(minutes=minutes),
        location="Room 1",
        description="Discussion of the work done last week.",
        organizer=Attendee(organizer, organizer.split("@")[0].title(), Role.ORGANIZER, Response.ORGANIZER),
        attendees=tuple(Attendee(email, email.split("@")[0].title(), Role.REQUIRED) for email in attendees),
        cancelled=cancelled,
        conference=ConferenceLink(conference, f"https://video.example.com/c/{conference}") if conference else None,
    )


def content_hash(occurrence: Occurrence) -> str:
    """Stands in for the sync core's hash of user-visible content."""
    return str(hash(replace(occurrence, attendees=tuple(sorted(occurrence.attendees, key=lambda a: a.email)))))


def put(
    mailbox: str,
    occurrence: Occurrence,
    *,
    response: Response | None = None,
    item_id: str | None = None,
    organizer_copy: bool | None = None,
) -> PutOccurrence:
    """The organizer's or an attendee's copy of ``occurrence`` as the sync core would report it."""
    is_organizer = occurrence.organizer is not None and occurrence.organizer.email == mailbox
    return PutOccurrence(
        mailbox=mailbox,
        item_id=item_id or f"item:{mailbox}:{occurrence.key.uid}",
        occurrence=occurrence,
        my_response=response or (Response.ORGANIZER if is_organizer else Response.NO_RESPONSE),
        from_organizer_copy=is_organizer if organizer_copy is None else organizer_copy,
        content_hash=content_hash(occurrence),
    )
