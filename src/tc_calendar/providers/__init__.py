"""Calendar providers: adapters from a calendar server to provider-neutral records.

Only :mod:`tc_calendar.providers.base` is imported by the rest of the code; each adapter module (``ews``, later
``graph`` and ``caldav``) is the only place that knows its server's library.
"""

from tc_calendar.providers.base import (
    AuthError,
    BodyType,
    CalendarProvider,
    DayOfWeek,
    InvalidSyncStateError,
    ItemBody,
    ItemKind,
    MailboxError,
    MailboxErrorReason,
    MailboxNotification,
    ModifiedOccurrence,
    NotificationKind,
    Person,
    ProviderError,
    RecurrencePattern,
    RecurrenceRange,
    RecurrenceType,
    RemoteAttendee,
    RemoteItem,
    SubscriptionExpiredError,
    SyncBatch,
    ThrottledError,
    TransientError,
    WeekIndex,
)

__all__ = [
    "AuthError",
    "BodyType",
    "CalendarProvider",
    "DayOfWeek",
    "InvalidSyncStateError",
    "ItemBody",
    "ItemKind",
    "MailboxError",
    "MailboxErrorReason",
    "MailboxNotification",
    "ModifiedOccurrence",
    "NotificationKind",
    "Person",
    "ProviderError",
    "RecurrencePattern",
    "RecurrenceRange",
    "RecurrenceType",
    "RemoteAttendee",
    "RemoteItem",
    "SubscriptionExpiredError",
    "SyncBatch",
    "ThrottledError",
    "TransientError",
    "WeekIndex",
]
