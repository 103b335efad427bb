"""What the API needs from the rest of the connector, as narrow Protocols.

The store and the sync engine satisfy them structurally; tests may pass the real store. Keeping them narrow
means the API can be read (and faked) without knowing SQL or EWS.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Literal, Protocol

from tc_calendar.model import Change, Occurrence, OccurrenceKey, Response

#: What asking for a mailbox did: already synchronized, queued for a first sync, or refused by the licence.
MailboxRequest = Literal["queued", "synced", "over_limit", "unknown"]


class CalendarReader(Protocol):
    async def load_view(self, user: str, start: datetime, end: datetime) -> list[tuple[Occurrence, Response]]: ...

    async def get_occurrence(self, key: OccurrenceKey) -> Occurrence | None: ...

    async def get_occurrences(self, keys: Collection[OccurrenceKey]) -> dict[OccurrenceKey, Occurrence]:
        """Many occurrences in one read; keys not stored are left out."""
        ...


class ChangeLog(Protocol):
    async def changes_after(self, cursor: int, users: set[str] | None, limit: int) -> list[Change]: ...

    async def latest_cursor(self) -> int: ...

    async def pruned_through(self) -> int:
        """The highest cursor that may have been pruned (0 when nothing ever was)."""
        ...


class MailboxInfo(Protocol):
    """One synchronized (or queued) mailbox as ``users.list`` shows it."""

    @property
    def email(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def origin(self) -> str: ...

    @property
    def last_success_at(self) -> datetime | None: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def event_count(self) -> int: ...


class MailboxRegistry(Protocol):
    """The roster of mailboxes: asking for one queues it for sync on demand (seed 3.1.4, licence limit 1.2)."""

    async def request_mailbox(self, email: str) -> MailboxRequest: ...

    async def list_mailboxes(self) -> Sequence[MailboxInfo]: ...


class AttendeeDirectory(Protocol):
    """What meetings' attendee lists say about addresses: a name, and whether it is a room (``users.list``)."""

    async def attendee_directory(self, emails: Sequence[str]) -> dict[str, tuple[str, bool]]: ...


class ChangeNotifier(Protocol):
    """Who calls back after a commit that appended change-log entries (the store; on PostgreSQL also for commits
    of other connector instances, through LISTEN/NOTIFY)."""

    def add_change_listener(self, listener: Callable[[], None]) -> None: ...

    def remove_change_listener(self, listener: Callable[[], None]) -> None: ...


class MetaStore(Protocol):
    """The store's small key-value table, where a generated API secret is kept."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` is set; return what is stored (first writer wins across nodes)."""
        ...
