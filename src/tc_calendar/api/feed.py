"""Change feed: reads the change log once per wake-up and fans it out to every subscription.

Pushes are driven from the store's change log, never from memory of what was sent: a subscription is only a
cursor, so a client that reconnects and resumes from its last cursor gets every later change exactly once, in
order. Wake-ups come from :class:`ChangeSignal`, whose ``notify_new_changes`` the app registers as the store's
change listener (:mod:`tc_calendar.store.notify`: once per commit, this node's or another's); a poll every
``poll_interval`` seconds is the safety net (a missed signal, a lost PostgreSQL connection). Recent changes are
kept in a bounded ring, already rendered to JSON, so a thousand live subscribers cost one log read; subscribers
further behind read the log themselves. The ring is bounded in entries and in characters, so memory stays bounded
whatever the events' descriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tc_calendar.api import jsonrpc
from tc_calendar.api.ports import CalendarReader, ChangeLog
from tc_calendar.api.wire import change_to_wire, in_full_for_view, response_of
from tc_calendar.model import Change, ChangeKind, Occurrence, OccurrenceKey, Response
from tc_calendar.runtime import repeat

log = logging.getLogger(__name__)


class ChangeSignal:
    """An in-process "the change log grew" signal. Cheap, lossy by design: the poll catches what it misses."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.notified = 0
        """How many wake-ups were sent (one per commit that appended to the change log)."""

    def _ensure(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        return self._event

    def notify_new_changes(self) -> None:
        """Call after committing change-log entries; safe from any thread."""
        self.notified += 1
        event, loop = self._event, self._loop
        if event is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def wakeup(self) -> asyncio.Event:
        """The event a signal sets, in the running event loop (a loop's ``wake``)."""
        return self._ensure()


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One change, rendered to JSON text once and shared by every subscriber that receives it."""

    cursor: int
    user: str
    text: str
    time_only_text: str | None = None
    """The change as anyone but ``user`` may see it, set only when its occurrence is private."""

    def seen_by(self, in_full_for: Callable[[str], bool]) -> FeedEntry:
        """This entry for a viewer who sees ``user``'s private meetings in full when ``in_full_for(user)``."""
        if self.time_only_text is None or in_full_for(self.user):
            return self
        return FeedEntry(self.cursor, self.user, self.time_only_text)


def notify_text(subscription: str, entries: list[FeedEntry]) -> str:
    """The ``changes.notify`` frame for ``entries``, spliced from their pre-rendered JSON (no re-encoding)."""
    head = _NOTIFY_HEAD.get(subscription)
    if head is None:
        head = jsonrpc.notification("changes.notify", {"subscription": subscription, "cursor": 0})[: -len('0}}')]
        if len(_NOTIFY_HEAD) < 64:  # subscription ids are s1..s8 on every connection: a handful of heads in all
            _NOTIFY_HEAD[subscription] = head
    return f'{head}{entries[-1].cursor},"changes":[{",".join(e.text for e in entries)}]}}}}'


_NOTIFY_HEAD: dict[str, str] = {}
"""``{"jsonrpc":"2.0","method":"changes.notify","params":{"subscription":"s1","cursor":`` by subscription id."""


def fit(entries: list[FeedEntry], max_chars: int) -> list[FeedEntry]:
    """As many entries as fit in ``max_chars`` of notification, but at least one."""
    total = 0
    for index, entry in enumerate(entries):
        total += len(entry.text) + 1
        if total > max_chars and index > 0:
            return entries[:index]
    return entries


@dataclass(frozen=True, slots=True)
class Notification:
    """What one subscription is sent next, and where it goes on from.

    ``text`` is the ``changes.notify`` frame (``None``: nothing to send) carrying changes up to ``sent``;
    ``cursor`` is the subscription's cursor afterwards (it may pass changes filtered out); ``more`` says that
    more changes are ready at once (the notification was cut by count or size).
    """

    text: str | None
    sent: int | None
    cursor: int
    more: bool


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _my_response(change: Change, occurrence: Occurrence) -> Response:
    value = change.payload.get("my_response") or change.payload.get("myResponse")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return Response(value)
    return response_of(occurrence, change.user)


class ChangeFeed:
    """The shared reader of the change log; see the module docstring for why it exists."""

    def __init__(
        self,
        changes: ChangeLog,
        calendar: CalendarReader,
        signal: ChangeSignal,
        *,
        poll_interval: float = 1.0,
        ring_size: int = 10_000,
        ring_chars: int = 32 * 1024 * 1024,
        read_batch: int = 500,
    ) -> None:
        self._changes = changes
        self._calendar = calendar
        self._signal = signal
        self._poll_interval = poll_interval
        self._ring: deque[FeedEntry] = deque()
        self._ring_size = ring_size
        self._ring_chars = ring_chars
        self._chars = 0
        self._read_batch = read_batch
        self._floor = 0
        self.head = 0
        self._tick = asyncio.Event()
        self._timer_for: asyncio.Event | None = None
        self._started = False
        #: Notifications built from the ring since ``head`` last moved, shared by subscriptions that would get the
        #: same frame (same subscription id, cursor, users and view: e.g. every TrueConf Server subscribed to all).
        self._frames: dict[tuple[Any, ...], Notification] = {}
        self._frames_head = -1

    async def start(self) -> None:
        self.head = self._floor = await self._changes.latest_cursor()
        self._started = True

    async def render(self, changes: list[Change]) -> list[FeedEntry]:
        """Attach the current state of each upserted occurrence: one store read for the whole batch, not one per
        key (during an initial sync a batch holds hundreds of changes)."""
        keys = {c.key for c in changes if c.kind is ChangeKind.UPSERT and c.key is not None}
        states: dict[OccurrenceKey, Occurrence] = await self._calendar.get_occurrences(keys) if keys else {}
        entries = []
        for change in changes:
            occurrence = states.get(change.key) if change.key is not None else None
            my_response = _my_response(change, occurrence) if occurrence is not None else None
            doc = change_to_wire(change, occurrence, my_response)
            time_only = None
            if occurrence is not None and occurrence.private and doc["occurrence"] is not None:
                time_only = _json(change_to_wire(change, occurrence, my_response, in_full=False))
            entries.append(FeedEntry(change.cursor, change.user, _json(doc), time_only))
        return entries

    async def poll_once(self) -> int:
        """Read everything after ``head`` into the ring; returns how many changes were read."""
        total = 0
        while True:
            batch = await self._changes.changes_after(self.head, None, self._read_batch)
            if not batch:
                break
            for entry in await self.render(batch):
                self._ring.append(entry)
                self._chars += len(entry.text)
                while len(self._ring) > self._ring_size or (self._chars > self._ring_chars and len(self._ring) > 1):
                    dropped = self._ring.popleft()
                    self._chars -= len(dropped.text)
                    self._floor = dropped.cursor
            self.head = batch[-1].cursor
            total += len(batch)
            if len(batch) < self._read_batch:
                break
        if total:
            tick, self._tick = self._tick, asyncio.Event()
            tick.set()
        return total

    async def run(self) -> None:
        """The poller task: wait for a signal (or the poll interval), then read the log."""
        if not self._started:
            await self.start()

        async def poll() -> None:  # a failed read is tried again at the next round; subscribers keep their cursors
            await self.poll_once()

        await repeat(poll, what="reading the change log for subscribers", log=log, interval=self._poll_interval,
                     wake=self._signal.wakeup())

    async def read_after(self, cursor: int, users: frozenset[str] | None, limit: int) -> tuple[list[FeedEntry], int]:
        """Changes after ``cursor`` for ``users`` (``None``: all), at most ``limit``; and the cursor to go on from.

        The returned cursor may pass changes that were filtered out, never one that was not looked at.
        """
        head = self.head
        if cursor >= self._floor and self._started:
            picked: list[FeedEntry] = []
            for entry in reversed(self._ring):
                if entry.cursor <= cursor:
                    break
                if entry.cursor <= head and (users is None or entry.user in users):
                    picked.append(entry)
            picked.reverse()
            if len(picked) > limit:
                picked = picked[:limit]
                return picked, picked[-1].cursor
            return picked, max(cursor, head)
        changes = await self._changes.changes_after(cursor, set(users) if users is not None else None, limit)
        entries = await self.render(changes)
        if len(entries) == limit:
            return entries, entries[-1].cursor
        last = entries[-1].cursor if entries else cursor
        return entries, max(last, min(head, self.head))

    async def next_notification(
        self,
        subscription: str,
        cursor: int,
        users: frozenset[str] | None,
        view: str | None,
        limit: int,
        max_chars: int,
    ) -> Notification:
        """The next ``changes.notify`` for a subscription at ``cursor`` whose peer sees private meetings as
        ``view`` says (see :func:`in_full_for_view`): at most ``limit`` changes and about ``max_chars``.

        Built once per distinct (subscription id, cursor, users, view) while the head stays put, and shared:
        a thousand subscribers that are caught up cost one frame per change batch, not a thousand. Privacy is
        part of the key, so no peer ever gets a frame built for a viewer who sees more.
        """
        key = (subscription, cursor, users, view, limit, max_chars)
        if self._frames_head != self.head:
            self._frames.clear()
            self._frames_head = self.head
        else:
            known = self._frames.get(key)
            if known is not None:
                return known
        head = self.head
        from_ring = cursor >= self._floor and self._started
        entries_read, next_cursor = await self.read_after(cursor, users, limit)
        in_full_for = in_full_for_view(view)
        entries = fit([entry.seen_by(in_full_for) for entry in entries_read], max_chars)
        cut = len(entries) < len(entries_read)
        if cut:  # the rest goes in the next notification
            next_cursor = entries[-1].cursor
        notification = Notification(
            notify_text(subscription, entries) if entries else None,
            entries[-1].cursor if entries else None,
            next_cursor,
            cut or len(entries_read) >= limit,
        )
        if from_ring and head == self.head == self._frames_head:
            self._frames[key] = notification
        return notification

    async def wait_beyond(self, cursor: int, within: float) -> None:
        """Return when the feed's head passes ``cursor``, or after at most ``within`` seconds.

        Every waiter shares one timer: the first to wait on the current head starts it, and when it fires all of
        them wake (and a new head generation begins). A thousand idle subscriptions thus cost one timer, not a
        thousand set and cancelled on every change.
        """
        if self.head > cursor:
            return
        tick = self._tick
        if self._timer_for is not tick:
            self._timer_for = tick
            asyncio.get_running_loop().call_later(within, self._expire, tick)
        await tick.wait()

    def _expire(self, tick: asyncio.Event) -> None:
        if self._tick is tick:
            self._tick = asyncio.Event()
        tick.set()
