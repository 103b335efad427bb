"""Errors raised by the store, so callers can tell a database problem from a bug in their own input."""

from __future__ import annotations

from tc_calendar.errors import TcCalendarError


class StoreError(TcCalendarError):
    """Base of every error the store raises on purpose."""


class DatabaseError(StoreError):
    """The database refused or could not be reached; the operation was not applied (its transaction rolled back)."""

    logged_where_raised = True  # the store's own FailureLog reports the outage


class MailboxNotFoundError(StoreError):
    """An operation names a mailbox that was never registered; nothing was written."""

    def __init__(self, email: str) -> None:
        super().__init__(f"mailbox {email!r} is not registered in the store")
        self.email = email


class LaunchNotFoundError(StoreError):
    """A launch is finished that was never claimed; the launcher lost track of its own claim."""


class UnsupportedDatabaseError(StoreError):
    """The database URL names a backend the store does not support (only SQLite and PostgreSQL)."""
