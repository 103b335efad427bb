"""The provider boundary: what a calendar source (EWS now, Graph and CalDAV later) must offer the sync engine.

The rest of the code never imports exchangelib. A provider turns its wire objects into the provider-neutral,
immutable records below and reports failures with the :class:`ProviderError` hierarchy, so the sync loop can
decide (retry, back off, resync, mark the mailbox broken) without knowing which server is behind it.

Conventions of the records:

* Every datetime is timezone-aware, in UTC.
* An all-day item keeps its local dates as midnight UTC of those dates, ``end`` exclusive (the day after the
  last day), as in :mod:`tc_calendar.model`; ``recurrence_id`` and ``original_start`` stay true instants because
  they are identities shared by every copy of the meeting.
* E-mail addresses are lower-case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tc_calendar.errors import TcCalendarError
from tc_calendar.model import Response
from tc_calendar.sync.window import WindowRead

# --------------------------------------------------------------------------------------------------- records


class ItemKind(StrEnum):
    """What a calendar item is within its series (EWS CalendarItemType)."""

    SINGLE = "single"
    OCCURRENCE = "occurrence"
    EXCEPTION = "exception"
    MASTER = "master"


class BodyType(StrEnum):
    TEXT = "text"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class ItemBody:
    """The description as the server stores it; :mod:`tc_calendar.sync.html_text` makes it safe to show."""

    content: str
    type: BodyType = BodyType.TEXT


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class RemoteAttendee:
    """An invitee as listed in the item; ``response`` is ``NO_RESPONSE`` when the server does not know."""

    email: str
    name: str = ""
    response: Response = Response.NO_RESPONSE
    last_response_time: datetime | None = None


class RecurrenceType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    ABSOLUTE_MONTHLY = "absolute_monthly"
    RELATIVE_MONTHLY = "relative_monthly"
    ABSOLUTE_YEARLY = "absolute_yearly"
    RELATIVE_YEARLY = "relative_yearly"


class DayOfWeek(StrEnum):
    """A weekday, or one of the three "any day" choices relative patterns allow (EWS DaysOfWeekType)."""

    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"
    DAY = "Day"
    WEEKDAY = "Weekday"
    WEEKEND_DAY = "WeekendDay"


class WeekIndex(StrEnum):
    """Which week of the month a relative pattern means (EWS DayOfWeekIndexType)."""

    FIRST = "First"
    SECOND = "Second"
    THIRD = "Third"
    FOURTH = "Fourth"
    LAST = "Last"


@dataclass(frozen=True, slots=True)
class RecurrenceRange:
    """When a series starts and how it ends: on ``end_date`` (inclusive), after ``count`` occurrences, or never."""

    start_date: date
    end_date: date | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class RecurrencePattern:
    """A provider-neutral recurrence rule; which fields matter depends on ``type``.

    * DAILY: ``interval`` days.
    * WEEKLY: ``interval`` weeks on ``weekdays``; ``first_day_of_week`` decides which weeks count for intervals > 1.
    * ABSOLUTE_MONTHLY: ``day_of_month`` every ``interval`` months (clamped to the month's last day).
    * RELATIVE_MONTHLY: the ``week_index`` ``weekdays[0]`` every ``interval`` months.
    * ABSOLUTE_YEARLY: ``day_of_month`` of ``month``; RELATIVE_YEARLY: ``week_index`` ``weekdays[0]`` of ``month``.
    """

    type: RecurrenceType
    range: RecurrenceRange
    interval: int = 1
    weekdays: tuple[DayOfWeek, ...] = ()
    day_of_month: int | None = None
    week_index: WeekIndex | None = None
    month: int | None = None
    first_day_of_week: DayOfWeek = DayOfWeek.MONDAY


@dataclass(frozen=True, slots=True)
class ModifiedOccurrence:
    """An occurrence of a series that was moved or edited; ``item_id`` fetches its full content."""

    original_start: datetime
    start: datetime
    end: datetime
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteItem:
    """One calendar item as one mailbox holds it.

    ``uid`` is the iCalendar UID, the same in the organizer's and every attendee's copy. ``recurrence_id`` is the
    original start of an occurrence or exception (``None`` for singles and masters). A master carries its
    ``recurrence`` and its ``modified_occurrences``/``deleted_occurrences`` (by original start); when the provider
    has fetched the full exceptions it puts them in ``exceptions`` so the sync engine can expand the series without
    another round trip.

    ``recurrence`` may also be set on an occurrence or exception (the pattern of its series) when the provider
    knows it, and ``master_item_id`` names the series' master: with both, occurrences read through a calendar view
    and those expanded from the master are identical, and deleting the master reaches them all.

    ``meeting_urls`` are online-meeting addresses the server keeps outside the body (EWS MeetingWorkspaceUrl,
    NetShowUrl); the link rules look at them after the location.

    ``subject`` never carries the "Canceled: " prefix Exchange adds to attendee copies; ``is_cancelled`` does.
    """

    mailbox: str
    item_id: str
    change_key: str
    uid: str
    kind: ItemKind
    subject: str
    start: datetime
    end: datetime
    body: ItemBody = ItemBody("")
    is_all_day: bool = False
    start_timezone: str | None = None
    end_timezone: str | None = None
    location: str = ""
    meeting_urls: tuple[str, ...] = ()
    organizer: Person | None = None
    required_attendees: tuple[RemoteAttendee, ...] = ()
    optional_attendees: tuple[RemoteAttendee, ...] = ()
    my_response: Response = Response.NO_RESPONSE
    is_cancelled: bool = False
    is_meeting: bool = False
    recurrence_id: datetime | None = None
    master_item_id: str | None = None
    recurrence: RecurrencePattern | None = None
    modified_occurrences: tuple[ModifiedOccurrence, ...] = ()
    deleted_occurrences: tuple[datetime, ...] = ()
    exceptions: tuple[RemoteItem, ...] = ()
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """One page of incremental changes of a mailbox's calendar (EWS SyncFolderItems, Graph delta).

    Apply ``items`` (created or updated, singles and masters) and ``deleted_item_ids``, then keep ``sync_state``
    for the next call; when ``includes_last`` is false, call again at once with the new state.
    """

    mailbox: str
    items: tuple[RemoteItem, ...]
    deleted_item_ids: tuple[str, ...]
    sync_state: str
    includes_last: bool


class NotificationKind(StrEnum):
    CHANGED = "changed"
    """Something in the calendar changed: run an incremental sync of the mailbox."""
    RESYNC = "resync"
    """Events may have been missed (subscription lost or expired): run a full sync of the mailbox."""


@dataclass(frozen=True, slots=True)
class MailboxNotification:
    mailbox: str
    kind: NotificationKind = NotificationKind.CHANGED
    item_ids: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------- errors


class ProviderError(TcCalendarError):
    """A calendar provider could not do what was asked. ``mailbox`` is set when one mailbox is concerned."""

    def __init__(self, message: str, *, mailbox: str | None = None) -> None:
        self.mailbox = mailbox
        super().__init__(f"{mailbox}: {message}" if mailbox else message)


class TransientError(ProviderError):
    """A failure that is expected to pass (network, HTTP 5xx, timeouts): retry with back-off."""


class ThrottledError(TransientError):
    """The server asked us to slow down (EWS ErrorServerBusy); wait at least ``backoff_seconds``."""

    def __init__(self, message: str, *, backoff_seconds: float, mailbox: str | None = None) -> None:
        self.backoff_seconds = backoff_seconds
        super().__init__(message, mailbox=mailbox)


class AuthError(ProviderError):
    """The service account's credentials were rejected or it lacks the impersonation right; an admin must act."""


class MailboxErrorReason(StrEnum):
    NOT_FOUND = "not_found"
    ACCESS_DENIED = "access_denied"
    UNAVAILABLE = "unavailable"


class MailboxError(ProviderError):
    """One mailbox cannot be read (no such address, no impersonation right on it, mailbox moving or offline)."""

    def __init__(self, message: str, *, reason: MailboxErrorReason, mailbox: str | None = None) -> None:
        self.reason = reason
        super().__init__(message, mailbox=mailbox)


class InvalidSyncStateError(ProviderError):
    """The saved sync state is no longer accepted: forget it and run a full sync of the mailbox."""


class SubscriptionExpiredError(ProviderError):
    """A change subscription died; re-subscribe and run a full sync, since changes may have been missed."""


# --------------------------------------------------------------------------------------------------- protocol


@runtime_checkable
class CalendarProvider(Protocol):
    """The calls the sync loop makes; one provider instance serves many mailboxes of one server."""

    def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        """What ``read`` wants of the mailbox's calendar (:class:`~tc_calendar.sync.window.WindowRead`): the
        singles overlapping ``read.singles``, and every series with an occurrence overlapping ``read.series``, as
        its master (with ``exceptions`` attached) or as the occurrences the server expanded; the sync core accepts
        both (:func:`tc_calendar.sync.normalize.normalize_items`) and drops what lies outside the window, so
        handing over more is harmless, only slower."""
        ...

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        """The next page of changes since ``sync_state`` (``None``: from the beginning): singles and masters,
        masters with their ``exceptions`` attached."""
        ...

    async def get_items(self, mailbox: str, item_ids: Sequence[str]) -> list[RemoteItem]:
        """Full items by id (for example a master's exceptions); missing ids are left out."""
        ...

    def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        """Notifications of changes in these mailboxes for as long as the iterator is consumed."""
        ...

    async def aclose(self) -> None:
        """Release connections and subscriptions."""
        ...
