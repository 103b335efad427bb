"""Change tracking: one ordered journal feeds both SyncFolderItems and notification subscriptions.

Every create, update and delete of a single item or recurring master appends a :class:`JournalEntry`
(occurrences and exceptions are reported as an update of their master, as Exchange does). Sync states and
watermarks are opaque base64 strings encoding a journal position; they carry the mailbox's sync generation so
that a deliberately invalidated state is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True)
class JournalEntry:
    seq: int  # strictly increasing across the whole world
    mailbox: str
    folder_id: str
    kind: ChangeKind
    item_id: str
    change_key: str
    timestamp: datetime


@dataclass
class SyncChange:
    """One entry of a SyncFolderItems response. ``item`` is None for deletes."""

    kind: ChangeKind
    item_id: str
    change_key: str | None
    item: object | None = None  # a CalendarItem snapshot for Create/Update


@dataclass
class SyncResult:
    changes: list[SyncChange]
    sync_state: str
    includes_last_item_in_range: bool

    def __iter__(self):  # type: ignore[no-untyped-def]
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
    pending_folder_events: list[str] = field(default_factory=list)


#: Default number of events in one GetEvents response before MoreEvents=true (Exchange uses 50).
EVENTS_PER_BATCH = 50
