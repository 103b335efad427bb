"""A real connector API on 127.0.0.1 port 0 over a real store on SQLite, and meetings to put in it."""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette

from tc_calendar.api.app import create_app
from tc_calendar.api.auth import AuthThrottle, ServerCredentials, SessionTokens, derive_token_key
from tc_calendar.api.client import ServerAuth
from tc_calendar.api.feed import ChangeSignal
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices
from tc_calendar.api.registry import OnDemandRegistry
from tc_calendar.api.server import listening_socket, run_server
from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store
from tc_calendar.sync.actions import PutOccurrence
from tc_calendar.sync.window import window_at

SERVER_ID = "tcs.example.com#vcs"
SECRET = "correct horse battery staple"
OTHER_SERVER_ID = "other.example.com#vcs"
OTHER_SECRET = "per-server secret"
WEB_USERS = {"admin": "admin password"}
ALICE = "alice@example.com"
BOB = "bob@example.com"
MONDAY_9 = datetime(2026, 6, 29, 9, 0, tzinfo=UTC)


def meeting(
    uid: str = "uid-1",
    *,
    title: str = "Marketing department meeting",
    start: datetime = MONDAY_9,
    organizer: str = ALICE,
    attendees: tuple[str, ...] = (BOB,),
    conference: str | None = None,
    cancelled: bool = False,
    description: str = "Discussion of the work done last week.",
    recurrence_id: datetime | None = None,
) -> Occurrence:
    return Occurrence(
        key=OccurrenceKey(uid, recurrence_id),
        title=title,
        start=start,
        end=start + timedelta(minutes=30),
        location="Room 1",
        description=description,
        organizer=Attendee(organizer, organizer.split("@")[0].title(), Role.ORGANIZER, Response.ORGANIZER),
        attendees=tuple(Attendee(email, email.split("@")[0].title(), Role.REQUIRED) for email in attendees),
        cancelled=cancelled,
        conference=ConferenceLink(conference, f"https://video.example.com/c/{conference}") if conference else None,
        recurrence_summary="Weekly on Monday" if recurrence_id else None,
    )


def put(mailbox: str, occurrence: Occurrence, response: Response | None = None) -> PutOccurrence:
    """The organizer's copy of ``occurrence`` (or an attendee's), as the sync core would report it."""
    is_organizer = occurrence.organizer is not None and occurrence.organizer.email == mailbox
    digest = hashlib.sha256(repr(replace(occurrence)).encode()).hexdigest()
    return PutOccurrence(
        mailbox=mailbox,
        item_id=f"item-{occurrence.key.uid}-{mailbox}",
        occurrence=occurrence,
        my_response=response or (Response.ORGANIZER if is_organizer else Response.NO_RESPONSE),
        from_organizer_copy=is_organizer,
        content_hash=digest,
    )


@dataclass
class Harness:
    url: str
    store: Store
    signal: ChangeSignal
    services: ApiServices
    app: Starlette
    auth: ServerAuth = field(default_factory=lambda: ServerAuth(SERVER_ID, SECRET))

    async def apply(self, *actions: PutOccurrence) -> int:
        """Write through the store, as the sync engine does (the store wakes the feed); returns the latest cursor."""
        changes = await self.store.apply(list(actions))
        return changes[-1].cursor if changes else await self.store.latest_cursor()


@contextlib.asynccontextmanager
async def running_api(
    store: Store,
    *,
    limits: ApiLimits | None = None,
    web_users: Mapping[str, str] = WEB_USERS,
    throttle: AuthThrottle | None = None,
    server_throttle: AuthThrottle | None = None,
    send_buffer: int | None = None,
    host: str = "127.0.0.1",
    trusted_proxies: tuple[str, ...] = (),
) -> AsyncIterator[Harness]:
    """``send_buffer`` fixes the kernel send buffer of accepted sockets (slow-client tests fill it quickly).

    ``throttle`` is the web sign-in back-off, ``server_throttle`` the one for TrueConf Server's ``auth.hello``.
    """
    limits = limits or ApiLimits()
    services = ApiServices(
        calendar=store,
        changes=store,
        mailboxes=OnDemandRegistry(store),
        credentials=ServerCredentials.build([SERVER_ID, OTHER_SERVER_ID], SECRET, {OTHER_SERVER_ID: OTHER_SECRET}),
        web_users=web_users,
        tokens=SessionTokens(derive_token_key(SECRET), limits.session_token_ttl),
        throttle=throttle if throttle is not None else AuthThrottle(),
        server_throttle=server_throttle if server_throttle is not None else AuthThrottle(),
        limits=limits,
        server_name="tc-calendar-test",
        version="0.1.0",
        sync_window=lambda: window_at(MONDAY_9, 2, 3),  # the guide's default cache: 2 months back, 3 ahead
        directory=store,
    )
    signal = ChangeSignal()
    app = create_app(services, signal=signal, notifier=store)
    sock = listening_socket(host, 0)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    async with run_server(app, limits, sock=sock, trusted_proxies=trusted_proxies) as server:
        yield Harness(server.url, store, signal, services, app)
