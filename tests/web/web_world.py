"""A small calendar world for the page's tests, written out in full so each test can say what it expects.

June 2025, as in the admin guide's screenshots. The browser runs in Europe/Berlin (UTC+2 in June), so an event
at 06:00Z is shown at 08:00. Alice is the user in focus; Bob has a calendar of his own.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.sync.actions import PutOccurrence

ALICE = "alice@example.com"
BOB = "bob@example.com"
POSTMAN = "postman@example.com"
MAILBOXES = (ALICE, BOB, POSTMAN)

WEB_LOGIN = "calendar-admin"
WEB_PASSWORD = "correct horse battery staple"

CONFERENCE_URL = "https://video.example.com/c/5576502892"
RELEASE_URL = "https://video.example.com/c/release-2025"
BROWSER_ZONE = "Europe/Berlin"
TODAY = "2025-06-18T10:00:00+02:00"

LONG_DESCRIPTION = (
    "Discussion of the work done last week.\n"
    "1. Campaign results for May and what we learned from the survey.\n"
    "2. The budget for the summer exhibition, including the stand, travel and printed material.\n"
    "3. Who prepares the slides for the board meeting, and when the draft is due.\n"
    "4. Any other business. THE-END-OF-THE-DESCRIPTION"
)
XSS_TITLE = '<img src=x onerror="window.__pwned=1">Security briefing'


def utc(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def person(email: str, role: Role, response: Response = Response.NO_RESPONSE) -> Attendee:
    name = email.split("@")[0].replace("_", " ").title() if email != "mail_test169@example.com" else "mail_test169"
    return Attendee(email, name, role, response)


def occurrence(
    uid: str,
    title: str,
    start: datetime,
    minutes: int = 30,
    *,
    organizer: str = ALICE,
    attendees: tuple[Attendee, ...] = (),
    conference: str | None = None,
    cancelled: bool = False,
    description: str = "",
    location: str = "",
    series: bool = False,
    all_day: bool = False,
) -> Occurrence:
    return Occurrence(
        key=OccurrenceKey(uid, start if series else None),
        title=title,
        start=start,
        end=start + (timedelta(days=1) if all_day else timedelta(minutes=minutes)),
        all_day=all_day,
        location=location,
        description=description,
        organizer=person(organizer, Role.ORGANIZER, Response.ORGANIZER),
        attendees=attendees,
        cancelled=cancelled,
        conference=ConferenceLink(conference.rsplit("/", 1)[-1], conference) if conference else None,
        recurrence_summary="Weekly on Monday" if series else None,
    )


def put(mailbox: str, occ: Occurrence, my_response: Response | None = None) -> PutOccurrence:
    """``mailbox``'s copy of ``occ``, as the sync core reports it."""
    organizer = occ.organizer is not None and occ.organizer.email == mailbox
    return PutOccurrence(
        mailbox=mailbox,
        item_id=f"item-{occ.key.uid}-{mailbox}",
        occurrence=occ,
        my_response=my_response or (Response.ORGANIZER if organizer else Response.NO_RESPONSE),
        from_organizer_copy=organizer,
        content_hash=hashlib.sha256(repr(occ).encode()).hexdigest(),
    )


MARKETING = occurrence(
    "marketing",
    "Marketing department meeting",
    utc(28, 6),
    organizer=POSTMAN,
    description=LONG_DESCRIPTION,
    attendees=(person(ALICE, Role.REQUIRED, Response.ACCEPTED), person("mail_test169@example.com", Role.REQUIRED)),
)
PROJECT_REVIEW = occurrence(
    "review",
    "Project review",
    utc(11, 8),
    60,
    conference=CONFERENCE_URL,
    location=CONFERENCE_URL,
    description="Milestones and risks.",
    attendees=(
        person(BOB, Role.REQUIRED, Response.ACCEPTED),
        person("carol@example.com", Role.OPTIONAL, Response.TENTATIVE),
        person("dave@example.com", Role.REQUIRED, Response.DECLINED),
        person("erin@example.com", Role.OPTIONAL, Response.NO_RESPONSE),
    ),
)
BUDGET = occurrence(
    "budget",
    "Budget planning",
    utc(19, 8),
    60,
    organizer=POSTMAN,
    conference="https://video.example.com/c/budget",
    cancelled=True,
    attendees=(person(ALICE, Role.REQUIRED, Response.ACCEPTED),),
)
OFFSITE = occurrence(
    "offsite",
    "Company offsite",
    utc(24, 0),
    organizer=POSTMAN,
    all_day=True,
    attendees=(person(ALICE, Role.REQUIRED, Response.TENTATIVE),),
)
WEEKLY_MONDAYS = (2, 9, 16, 23, 30)
WEEKLY = tuple(
    occurrence("weekly", "Weekly sync", utc(day, 7), attendees=(person(BOB, Role.REQUIRED),), series=True)
    for day in WEEKLY_MONDAYS
)
BUSY_DAY = (
    occurrence("design", "Design review", utc(11, 7)),
    occurrence("one-on-one", "1:1 with Bob", utc(11, 9), attendees=(person(BOB, Role.REQUIRED),)),
    occurrence("lunch", "Lunch & learn", utc(11, 10)),
    occurrence("release", "Release planning", utc(11, 15), conference=RELEASE_URL),
)
XSS = occurrence("xss", XSS_TITLE, utc(5, 9), description='<script>window.__pwned=2</script> & "quotes"')
BOBS_OWN = occurrence("dentist", "Bob's dentist appointment", utc(12, 14), organizer=BOB)

# Events over several days, added where a test asks for them (the month draws them as bars).
EXHIBITION = dataclasses.replace(
    occurrence("exhibition", "Summer exhibition", utc(25, 0), all_day=True, conference=CONFERENCE_URL),
    end=utc(28, 0),
)  # Wednesday 25 to Friday 27 June
RETREAT = dataclasses.replace(
    occurrence("retreat", "Team retreat", utc(12, 0), all_day=True), end=utc(25, 0)
)  # Thursday 12 to Tuesday 24 June: three week rows of the month
MIGRATION = occurrence("migration", "Server migration", utc(20, 21), 8 * 60)  # Berlin: Fri 23:00 to Sat 07:00
TRIP = dataclasses.replace(
    occurrence("trip", "Sales trip", utc(3, 0), all_day=True, cancelled=True), end=utc(5, 0)
)  # Tuesday 3 and Wednesday 4 June, cancelled
MULTI_DAY = (EXHIBITION, RETREAT, MIGRATION, TRIP)


def seed_actions() -> list[PutOccurrence]:
    """Alice's calendar (and Bob's copies of the meetings he is in)."""
    actions = [
        put(ALICE, MARKETING, Response.ACCEPTED),
        put(ALICE, PROJECT_REVIEW),
        put(BOB, PROJECT_REVIEW, Response.ACCEPTED),
        put(ALICE, BUDGET, Response.ACCEPTED),
        put(ALICE, OFFSITE, Response.TENTATIVE),
        *(put(ALICE, occ) for occ in WEEKLY),
        *(put(ALICE, occ) for occ in BUSY_DAY),
        put(ALICE, XSS),
        put(BOB, BOBS_OWN),
    ]
    return actions
