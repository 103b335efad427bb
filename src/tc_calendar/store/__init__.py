"""The store: events, visibility, the change log, mailboxes and launches in SQLite or PostgreSQL.

It is the only part of the connector that knows SQL. Open it with :meth:`Store.open` on a URL migrated with
:func:`upgrade` / :func:`upgrade_async`.
"""

from tc_calendar.store.errors import (
    DatabaseError,
    LaunchNotFoundError,
    MailboxNotFoundError,
    StoreError,
    UnsupportedDatabaseError,
)
from tc_calendar.store.migrate import downgrade, downgrade_async, upgrade, upgrade_async
from tc_calendar.store.notify import ChangeListener
from tc_calendar.store.records import (
    ConfiguredMailbox,
    LaunchRecord,
    LaunchState,
    MailboxCheckpoint,
    MailboxOrigin,
    MailboxState,
    MailboxStatus,
    TrueConfUser,
)
from tc_calendar.store.store import Store

__all__ = [
    "ChangeListener",
    "ConfiguredMailbox",
    "DatabaseError",
    "LaunchNotFoundError",
    "LaunchRecord",
    "LaunchState",
    "MailboxCheckpoint",
    "MailboxNotFoundError",
    "MailboxOrigin",
    "MailboxState",
    "MailboxStatus",
    "Store",
    "StoreError",
    "TrueConfUser",
    "UnsupportedDatabaseError",
    "downgrade",
    "downgrade_async",
    "upgrade",
    "upgrade_async",
]
