"""A linked meeting, putting it into the store, a launcher on it, and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from tc_calendar.launch_scheduler import LaunchScheduler, SchedulerOptions
from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store
from tc_calendar.sync.actions import PutOccurrence
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.launch_plan import LaunchPolicy
from tc_calendar.trueconf.participants import ParticipantsMode
from tc_calendar.trueconf.users import InMemoryUserCache, UserResolver

CID = "5576502892"  # in the simulator's seed world: owner alice, bob invited
KEY = OccurrenceKey("weekly-sync-uid")
ALICE, BOB, CAROL, DAVE = "alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test"
START = datetime(2026, 6, 29, 9, 0, tzinfo=UTC)
LEAD = timedelta(minutes=1)


class Clock:
    """The launcher's clock and sleep: time moves only when the test sets ``now``, and sleepers wake then."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._moved: set[asyncio.Event] = set()

    def __call__(self) -> datetime:
        return self._now

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = value
        for moved in self._moved:
            moved.set()

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Like ``asyncio.sleep``, the time to wake at is fixed when called, not when first awaited."""
        return self._until(self._now + timedelta(seconds=seconds))

    async def _until(self, until: datetime) -> None:
        while self._now < until:
            moved = asyncio.Event()
            self._moved.add(moved)
            try:
                await moved.wait()
            finally:
                self._moved.discard(moved)


def meeting(*, start: datetime = START, cancelled: bool = False, title: str = "Weekly sync",
            bob: Response = Response.ACCEPTED, key: OccurrenceKey = KEY, cid: str = CID) -> Occurrence:
    """Alice's meeting: Bob answers ``bob``, Carol declined, Dave has not answered."""
    return Occurrence(
        key=key,
        title=title,
        start=start,
        end=start + timedelta(minutes=30),
        organizer=Attendee(ALICE, "Alice Archer", Role.ORGANIZER, Response.ORGANIZER),
        attendees=(
            Attendee(BOB, "Bob Baker", Role.REQUIRED, bob),
            Attendee(CAROL, "Carol Cooper", Role.REQUIRED, Response.DECLINED),
            Attendee(DAVE, "Dave Dalton", Role.OPTIONAL, Response.NO_RESPONSE),
        ),
        cancelled=cancelled,
        conference=ConferenceLink(cid, f"https://video.example.test/c/{cid}", "video.example.test"),
    )


async def put(store: Store, occurrence: Occurrence) -> None:
    """Store the occurrence as the sync engine does when Alice's mailbox reports it."""
    digest = hashlib.sha256(repr(occurrence).encode()).hexdigest()
    item = f"item-{occurrence.key.uid}"
    await store.apply([PutOccurrence(ALICE, item, occurrence, Response.ORGANIZER, True, digest)])


def scheduler(store: Store, client: TrueConfClient, clock: Clock, owner: str = "node-a", *,
              lead: timedelta = timedelta(0), mode: ParticipantsMode = ParticipantsMode.SCHEDULED) -> LaunchScheduler:
    """A launcher on ``clock`` with a 15-minute grace period, preparing ``lead`` before each start."""
    resolver = UserResolver(client, InMemoryUserCache())
    options = SchedulerOptions(policy=LaunchPolicy(grace=timedelta(minutes=15), lead=lead), mode=mode)
    return LaunchScheduler(store, client, resolver, options=options, owner=owner, clock=clock, sleep=clock.sleep)
