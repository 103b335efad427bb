"""Calendar providers: adapters from a calendar server to the provider-neutral records of :mod:`tc_calendar.records`.

Only :mod:`tc_calendar.providers.base` (the Protocol and the errors) is imported by the rest of the code; each
adapter module (``ews``, ``graph``, later ``caldav``) is the only place that knows its server's library.
"""

from tc_calendar.providers.base import (
    AuthError,
    CalendarProvider,
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    MailboxNotification,
    NotificationKind,
    ProviderError,
    SubscriptionExpiredError,
    ThrottledError,
    TransientError,
)

__all__ = [
    "AuthError",
    "CalendarProvider",
    "InvalidSyncStateError",
    "MailboxError",
    "MailboxErrorReason",
    "MailboxNotification",
    "NotificationKind",
    "ProviderError",
    "SubscriptionExpiredError",
    "ThrottledError",
    "TransientError",
]
