"""The calendar scenario every provider is held to: one simulated Exchange world, read through each protocol.

A module of its own (test directories are not packages), so the contract tests import it by name. The world is
built with the EWS simulator's world API (``ews_sim.world``), which the Graph simulator serves too, so the same
mailboxes are behind both protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from ews_sim.world import DayOfWeek, NumberedRecurrence, Recurrence, WeeklyPattern, World
from tc_calendar.model import Occurrence, Response

SERVICE_LOGIN, SERVICE_PASSWORD = "svc-sync", "Sync!pass1"
ALICE, BOB, CAROL, DAVE = "alice@corp.test", "bob@corp.test", "carol@corp.test", "dave@corp.test"
USERS = (ALICE, BOB, CAROL, DAVE)
TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
STANDUP_LINK = "https://video.corp.test/c/standup"


def make_world() -> World:
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    for smtp, name in ((ALICE, "Alice Archer"), (BOB, "Bob Baker"), (CAROL, "Carol Cook"), (DAVE, "Dave Dunn")):
        world.add_mailbox(smtp, name, "Europe/Berlin")
    world.grant_delegate(CAROL, DAVE)
    return world


def build_calendars(world: World) -> None:
    """A week of a small team: a linked meeting answered by its attendees, a weekly series with a moved and a
    deleted occurrence, an all-day appointment, a cancelled meeting, and a meeting a delegate scheduled."""
    standup = world.create_meeting(
        ALICE, "Standup", TOMORROW, TOMORROW + HOUR / 4, required=[BOB], optional=[CAROL],
        body=f"Join: {STANDUP_LINK}",
    )  # fmt: skip
    world.respond(BOB, standup.uid, "Accept")
    world.respond(CAROL, standup.uid, "Tentative")
    weekly = Recurrence(WeeklyPattern((DayOfWeek(TOMORROW.strftime("%A")),)), NumberedRecurrence(TOMORROW.date(), 4))
    series = world.create_meeting(
        ALICE, "Weekly review", TOMORROW + 2 * HOUR, TOMORROW + 3 * HOUR, required=[BOB], recurrence=weekly,
        time_zone="UTC",
    )  # fmt: skip
    moved = TOMORROW + timedelta(days=8, hours=2)
    world.update_occurrence(ALICE, series.uid, 2, start=moved, end=moved + HOUR, subject="Weekly review (moved)")
    world.delete_occurrence(ALICE, series.uid, 3)
    world.create_appointment(DAVE, "Offsite", TOMORROW, TOMORROW + timedelta(days=1), all_day=True)
    dropped = world.create_meeting(ALICE, "Budget", TOMORROW + 5 * HOUR, TOMORROW + 6 * HOUR, required=[BOB])
    world.cancel_meeting(ALICE, dropped.uid)
    world.create_meeting(
        CAROL, "Carol's planning", TOMORROW + 7 * HOUR, TOMORROW + 8 * HOUR, required=[ALICE], as_delegate=DAVE
    )


def change_calendars(world: World) -> None:
    """What happens after the first sync: a new meeting, a declined one, an edit, a deletion, a moved occurrence."""
    world.create_meeting(BOB, "Retro", TOMORROW + 9 * HOUR, TOMORROW + 10 * HOUR, required=[ALICE, DAVE])
    standup = next(item for item in world.find_items(ALICE) if item.subject == "Standup")
    world.respond(CAROL, standup.uid, "Decline")
    world.update_meeting(ALICE, standup.uid, subject="Standup (new room)", location="Room 2")
    offsite = next(item for item in world.find_items(DAVE) if item.subject == "Offsite")
    world.delete_item(offsite.item_id)
    series = next(item for item in world.find_items(ALICE) if item.subject == "Weekly review")
    later = TOMORROW + timedelta(days=21, hours=4)
    world.update_occurrence(ALICE, series.uid, 4, start=later, end=later + HOUR)


@dataclass(frozen=True)
class Seen:
    """One occurrence as a user sees it: what the contract compares across providers."""

    title: str
    start: datetime
    end: datetime
    all_day: bool
    my_response: Response
    organizer: str | None
    attendees: tuple[tuple[str, str, str], ...]
    location: str
    conference: str | None
    recurring: bool

    @classmethod
    def of(cls, occurrence: Occurrence, response: Response) -> Seen:
        return cls(
            occurrence.display_title,
            occurrence.start,
            occurrence.end,
            occurrence.all_day,
            response,
            occurrence.organizer.email if occurrence.organizer else None,
            tuple((a.email, a.role.value, a.response.value) for a in occurrence.attendees),
            occurrence.location,
            occurrence.conference.url if occurrence.conference else None,
            occurrence.recurrence_summary is not None,
        )
