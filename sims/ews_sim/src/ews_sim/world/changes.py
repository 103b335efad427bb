"""Change tracking: one ordered journal feeds both SyncFolderItems and notification subscriptions.

Every create, update and delete of a single item or recurring master appends a :class:`JournalEntry`
(occurrences and exceptions are reported as an update of their master, as Exchange does). Sync states and
watermarks are opaque, checksummed base64 strings encoding a journal position and the world instance; sync
states also carry the folder and the mailbox's sync generation, so that a deliberately invalidated state is
recognised. The journal is indexed by folder and by mailbox.
"""

from __future__ import annotations

import base64
import bisect
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ews_sim.world.errors import (
    ExpiredSubscription,
    InvalidSyncStateData,
    InvalidWatermark,
    SubscriptionNotFound,
)
from ews_sim.world.ids import pack_token, unpack_token
from ews_sim.world.model import CalendarItem


class ChangeKind(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"


class EventType(StrEnum):
    """EWS notification event types (the element names in GetEvents/GetStreamingEvents responses)."""

    COPIED = "CopiedEvent"
    CREATED = "CreatedEvent"
    DELETED = "DeletedEvent"
    MODIFIED = "ModifiedEvent"
    MOVED = "MovedEvent"
    NEW_MAIL = "NewMailEvent"
    FREE_BUSY_CHANGED = "FreeBusyChangedEvent"
    STATUS = "StatusEvent"


ALL_EVENT_TYPES: tuple[EventType, ...] = (
    EventType.COPIED,
    EventType.CREATED,
    EventType.DELETED,
    EventType.MODIFIED,
    EventType.MOVED,
    EventType.NEW_MAIL,
    EventType.FREE_BUSY_CHANGED,
)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int  # strictly increasing across the whole world
    mailbox: str
    folder_id: str
    kind: ChangeKind
    item_id: str
    change_key: str
    timestamp: datetime
    moved_to_folder_id: str | None = None  # a delete that moved the item (to Deleted Items)
    moved_item_id: str | None = None  # the item's id in that folder


@dataclass
class SyncChange:
    """One entry of a SyncFolderItems response. ``item`` is None for deletes."""

    kind: ChangeKind
    item_id: str
    change_key: str | None
    item: CalendarItem | None = None  # a snapshot for Create/Update


@dataclass
class SyncResult:
    changes: list[SyncChange]
    sync_state: str
    includes_last_item_in_range: bool

    def __iter__(self) -> Iterator[Any]:
        """Allow ``changes, state, last = world.sync_folder_items(...)``."""
        return iter((self.changes, self.sync_state, self.includes_last_item_in_range))


@dataclass(frozen=True)
class Event:
    """A notification event. Item events carry ``item_id``; folder events carry ``folder_id`` instead."""

    event_type: EventType
    watermark: str
    timestamp: datetime
    parent_folder_id: str
    item_id: str | None = None
    change_key: str | None = None
    folder_id: str | None = None
    old_item_id: str | None = None
    old_parent_folder_id: str | None = None


@dataclass
class EventBatch:
    """What GetEvents returns: events (a lone StatusEvent when nothing happened), more_events, new watermark."""

    subscription_id: str
    events: list[Event]
    more_events: bool
    watermark: str
    previous_watermark: str


class SubscriptionKind(StrEnum):
    PULL = "pull"
    PUSH = "push"
    STREAMING = "streaming"


@dataclass
class Subscription:
    subscription_id: str
    kind: SubscriptionKind
    mailbox: str
    folder_ids: frozenset[str]  # empty with all_folders
    all_folders: bool
    event_types: frozenset[EventType]
    timeout_minutes: int
    position: int  # journal seq already delivered
    created: datetime
    last_activity: datetime
    expired: bool = False
    owner_login: str | None = None
    drop_pending: bool = False  # a streaming connection must be dropped (fault)


#: A streaming subscription without any GetStreamingEvents connection for this long expires, as in Exchange.
STREAMING_IDLE_MINUTES = 30

#: Default number of events in one GetEvents response before MoreEvents=true (Exchange uses 50).
EVENTS_PER_BATCH = 50


_SYNC_TAG = b"SYNC"
_WATERMARK_TAG = b"WMRK"


class Journal:
    """The world-wide ordered list of item changes; ``seq`` of an entry is its 1-based position."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.epoch = secrets.token_bytes(8)  # tokens of another World instance are not ours
        self._clock = clock
        self._entries: list[JournalEntry] = []
        # indexes, so that a sync or a subscription reads only its folder's or mailbox's entries
        self._by_folder: dict[str, list[JournalEntry]] = {}
        self._by_mailbox: dict[str, list[JournalEntry]] = {}

    @property
    def last_seq(self) -> int:
        return len(self._entries)

    def append(
        self,
        mailbox: str,
        folder_id: str,
        kind: ChangeKind,
        item_id: str,
        change_key: str,
        moved_to: tuple[str, str] | None = None,
    ) -> JournalEntry:
        """Append a change; ``moved_to`` is (folder id, new item id) for an item moved out of ``folder_id``."""
        folder, new_id = moved_to if moved_to is not None else (None, None)
        entry = JournalEntry(
            self.last_seq + 1, mailbox, folder_id, kind, item_id, change_key, self._clock(), folder, new_id
        )
        self._entries.append(entry)
        self._by_folder.setdefault(folder_id, []).append(entry)
        self._by_mailbox.setdefault(mailbox, []).append(entry)
        return entry

    def mailbox_last_seq(self, mailbox: str) -> int:
        """The position of the mailbox's last entry (0 if it has none)."""
        entries = self._by_mailbox.get(mailbox)
        return entries[-1].seq if entries else 0

    def folder_since(self, folder_id: str, seq: int) -> list[JournalEntry]:
        """Entries of one folder after position ``seq``."""
        return _after(self._by_folder.get(folder_id, []), seq)

    def mailbox_since(self, mailbox: str, seq: int) -> list[JournalEntry]:
        """Entries of one mailbox after position ``seq``."""
        return _after(self._by_mailbox.get(mailbox, []), seq)

    # -- sync states ----------------------------------------------------------------------------------------

    def sync_state(self, folder_key: bytes, generation: int, seq: int) -> str:
        return pack_token(_SYNC_TAG, generation, seq, key=self.epoch + folder_key)

    def parse_sync_state(self, state: str, folder_key: bytes, generation: int) -> int:
        """The journal position a sync state stands for; InvalidSyncStateData if it is not valid here."""
        unpacked = unpack_token(state, _SYNC_TAG, 2)
        if unpacked is None:
            raise InvalidSyncStateData()
        key, (state_generation, seq) = unpacked
        if key != self.epoch + folder_key or state_generation != generation or not 0 <= seq <= self.last_seq:
            raise InvalidSyncStateData()
        return seq

    # -- watermarks -----------------------------------------------------------------------------------------

    def watermark(self, seq: int) -> str:
        return pack_token(_WATERMARK_TAG, seq, key=self.epoch)

    def parse_watermark(self, watermark: str) -> int:
        unpacked = unpack_token(watermark, _WATERMARK_TAG, 1)
        if unpacked is None or unpacked[0] != self.epoch or not 0 <= unpacked[1][0] <= self.last_seq:
            raise InvalidWatermark()
        return unpacked[1][0]


def _after(entries: list[JournalEntry], seq: int) -> list[JournalEntry]:
    return entries[bisect.bisect_right(entries, seq, key=lambda e: e.seq) :]


@dataclass
class NetChange:
    kind: ChangeKind
    item_id: str
    change_key: str


def net_changes(entries: Iterable[JournalEntry], folder_id: str, max_changes: int) -> tuple[list[NetChange], int, bool]:
    """Coalesce journal entries of one folder into at most ``max_changes`` net changes, one per item.

    Create+Update is a Create, Update+Update an Update, Update+Delete a Delete and Create+Delete nothing, as
    Exchange reports them. Returns (changes, position consumed up to, whether every entry was consumed).
    """
    changes: dict[str, NetChange] = {}
    consumed = -1
    entries = list(entries)
    for entry in entries:
        if entry.folder_id != folder_id:
            consumed = entry.seq
            continue
        existing = changes.get(entry.item_id)
        if existing is None:
            if len(changes) >= max_changes:
                return list(changes.values()), consumed, False
            changes[entry.item_id] = NetChange(entry.kind, entry.item_id, entry.change_key)
        elif entry.kind == ChangeKind.DELETE:
            if existing.kind == ChangeKind.CREATE:
                del changes[entry.item_id]
            else:
                changes[entry.item_id] = NetChange(ChangeKind.DELETE, entry.item_id, entry.change_key)
        else:
            existing.change_key = entry.change_key
        consumed = entry.seq
    return list(changes.values()), consumed, True


_EVENT_OF_KIND = {
    ChangeKind.CREATE: EventType.CREATED,
    ChangeKind.UPDATE: EventType.MODIFIED,
    ChangeKind.DELETE: EventType.DELETED,
}


class Subscriptions:
    """Pull and streaming subscriptions reading the journal. Not locked: the World serialises calls."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock
        self._subs: dict[str, Subscription] = {}

    def create(
        self,
        kind: SubscriptionKind,
        mailbox: str,
        folder_ids: frozenset[str],
        all_folders: bool,
        event_types: frozenset[EventType],
        watermark: str | None,
        timeout_minutes: int,
        owner_login: str | None,
    ) -> Subscription:
        position = self._journal.last_seq if watermark is None else self._journal.parse_watermark(watermark)
        now = self._clock()
        sub_id = base64_id()
        sub = Subscription(
            sub_id,
            kind,
            mailbox,
            folder_ids,
            all_folders,
            event_types or frozenset(ALL_EVENT_TYPES),
            timeout_minutes,
            position,
            now,
            now,
            owner_login=owner_login,
        )
        self._subs[sub_id] = sub
        return sub

    def get(self, subscription_id: str, now: datetime | None = None) -> Subscription:
        """The live subscription; ExpiredSubscription (once, then SubscriptionNotFound) after expiry: a pull one
        ``timeout_minutes`` after its last GetEvents, a streaming one 30 minutes after its last connection."""
        sub = self._subs.get(subscription_id)
        if sub is None:
            raise SubscriptionNotFound()
        idle = (now or self._clock()) - sub.last_activity
        if sub.kind == SubscriptionKind.PULL and idle > timedelta(minutes=sub.timeout_minutes):
            sub.expired = True
        if sub.kind == SubscriptionKind.STREAMING and idle > timedelta(minutes=STREAMING_IDLE_MINUTES):
            sub.expired = True  # no GetStreamingEvents connection for that long
        if sub.expired:
            del self._subs[subscription_id]
            raise ExpiredSubscription()
        return sub

    def all(self) -> list[Subscription]:
        return list(self._subs.values())

    def remove(self, subscription_id: str) -> None:
        if self._subs.pop(subscription_id, None) is None:
            raise SubscriptionNotFound()

    def expire(self, mailbox: str | None) -> int:
        count = 0
        for sub in self._subs.values():
            if not sub.expired and (mailbox is None or sub.mailbox == mailbox.lower()):
                sub.expired = True
                count += 1
        return count

    def pending(self, sub: Subscription, limit: int | None = None) -> tuple[list[Event], int, bool]:
        """Events after the subscription's position: (events, position after them, more left)."""
        events: list[Event] = []
        position = sub.position
        for entry in self._journal.mailbox_since(sub.mailbox, sub.position):
            if limit is not None and len(events) >= limit:
                return events, position, True
            position = entry.seq
            event = self._event(sub, entry)
            if event is not None:
                events.append(event)
        return events, self._journal.last_seq, False

    def _event(self, sub: Subscription, entry: JournalEntry) -> Event | None:
        """The event ``entry`` means for ``sub``, if it watches that mailbox, folder and event type.

        A delete that moved the item to another folder is a MovedEvent (seen from either folder), as when a
        user deletes, declines or cancels in Outlook; a hard delete is a DeletedEvent.
        """
        if entry.mailbox != sub.mailbox:
            return None
        watched = sub.all_folders or entry.folder_id in sub.folder_ids or entry.moved_to_folder_id in sub.folder_ids
        if not watched:
            return None
        watermark = self._journal.watermark(entry.seq)
        if entry.kind == ChangeKind.DELETE and entry.moved_to_folder_id is not None:
            if EventType.MOVED not in sub.event_types:
                return None
            return Event(
                EventType.MOVED,
                watermark,
                entry.timestamp,
                entry.moved_to_folder_id,
                item_id=entry.moved_item_id,
                change_key=entry.change_key,
                old_item_id=entry.item_id,
                old_parent_folder_id=entry.folder_id,
            )
        event_type = _EVENT_OF_KIND[entry.kind]
        if event_type not in sub.event_types:
            return None
        return Event(
            event_type,
            watermark,
            entry.timestamp,
            entry.folder_id,
            item_id=entry.item_id,
            change_key=None if entry.kind == ChangeKind.DELETE else entry.change_key,
        )

    def get_events(self, subscription_id: str, watermark: str | None) -> EventBatch:
        sub = self.get(subscription_id)
        if watermark is not None:
            sub.position = self._journal.parse_watermark(watermark)
        previous = self._journal.watermark(sub.position)
        sub.last_activity = self._clock()
        events, position, more = self.pending(sub, EVENTS_PER_BATCH)
        sub.position = position if events or more else self._journal.last_seq
        if not events:
            events = [Event(EventType.STATUS, self._journal.watermark(sub.position), sub.last_activity, "")]
        return EventBatch(sub.subscription_id, events, more, self._journal.watermark(sub.position), previous)

    def take_streaming(self, subscription_id: str) -> list[Event]:
        """Events a streaming connection has not seen yet; marks them delivered."""
        sub = self.get(subscription_id)
        sub.last_activity = self._clock()
        return self.take_delivered(sub)

    def connected(self, subscription_ids: Iterable[str]) -> list[Subscription]:
        """The live subscriptions of a streaming connection (each as :meth:`get` finds it), marked active now:
        one clock reading for all of them, since a connection carries up to 200."""
        now = self._clock()
        subs = [self.get(sid, now) for sid in subscription_ids]
        for sub in subs:
            sub.last_activity = now
        return subs

    def has_pending(self, sub: Subscription) -> bool:
        """Whether the journal holds entries of the subscription's mailbox after its position (cheap: no events
        are built; they may still all be filtered out by folder or event type)."""
        return self._journal.mailbox_last_seq(sub.mailbox) > sub.position

    def take_delivered(self, sub: Subscription) -> list[Event]:
        """Events after a subscription's position, which then moves past them."""
        events, position, _ = self.pending(sub)
        sub.position = position
        return events


def base64_id() -> str:
    """A subscription id shaped like Exchange's (base64 of 32 bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
