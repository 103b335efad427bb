"""The provider boundary: what a calendar source (EWS, Microsoft Graph, later CalDAV) must offer the sync engine.

Everything the engine calls on a provider is declared in :class:`CalendarProvider`; the engine never probes a
provider for optional capabilities. A provider turns its wire objects into the provider-neutral records of
:mod:`tc_calendar.records` and reports failures with the :class:`ProviderError` hierarchy, so the sync loop can
decide (retry, back off, resync, mark the mailbox broken) without knowing which server is behind it. The rest of
the code never imports a provider's library (exchangelib, msal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from tc_calendar.errors import TcCalendarError
from tc_calendar.records import RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead


class NotificationKind(StrEnum):
    CHANGED = "changed"
    """Something in the calendar changed: run an incremental sync of the mailbox."""
    RESYNC = "resync"
    """Events may have been missed (a subscription made, lost or expired): sync the mailbox from its checkpoint."""
    UNWATCHED = "unwatched"
    """The mailbox's subscription was refused (the mailbox is denied or gone): no notification comes for it until
    a later attempt succeeds (a ``RESYNC`` then). Only a provider that ``notifies_subscriptions`` sends it."""


@dataclass(frozen=True, slots=True)
class MailboxNotification:
    mailbox: str
    kind: NotificationKind = NotificationKind.CHANGED
    item_ids: tuple[str, ...] = ()
    since: float | None = None
    """For ``RESYNC``: the ``time.monotonic()`` from which every change is notified (the subscription was in
    place), so a sync that began reading the provider later already holds what may have been missed; None: no
    such time is known, the mailbox is synced in any case."""


# --------------------------------------------------------------------------------------------------- errors


class ProviderError(TcCalendarError):
    """A calendar provider could not do what was asked. ``mailbox`` is set when one mailbox is concerned."""

    def __init__(self, message: str, *, mailbox: str | None = None) -> None:
        self.mailbox = mailbox
        super().__init__(f"{mailbox}: {message}" if mailbox else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # The default calls the class with ``args`` alone, which the keyword-only arguments of the subclasses
        # refuse: an error raised in an EWS worker process (providers/workers.py) arrives whole, with its fields.
        return (_restored, (type(self), self.args, self.__dict__))


def _restored(cls: type[ProviderError], args: tuple[Any, ...], fields: dict[str, Any]) -> ProviderError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


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
    """The calls the sync engine makes; one provider instance serves many mailboxes of one server or tenant.

    A mailbox's sync loop runs a *window sync* (:meth:`read_window`) first, then *incremental syncs*
    (:meth:`sync_changes`) from the checkpoint it returned; each page is committed with the checkpoint it leads
    to. Two kinds of checkpoint fit:

    * a folder-wide one (EWS SyncFolderItems' SyncState): it follows every change of the calendar, so when the
      window slides only the slice that slid in is read (:meth:`initial_items`) and the checkpoint is kept;
    * a window-bound one (Graph calendarView/delta's delta link): it follows only the window it was made for, so
      a slide starts a new round, a new :meth:`read_window` (``window_bound_checkpoint``).

    A checkpoint the server no longer accepts raises :class:`InvalidSyncStateError`, and the engine runs a
    window sync without it; the diff against the store makes that resync write only real differences.
    """

    @property
    def window_bound_checkpoint(self) -> bool:
        """Whether a checkpoint only follows changes inside the window it was made for (see above)."""
        ...

    @property
    def notifies_subscriptions(self) -> bool:
        """Whether :meth:`watch` tells of each mailbox's subscription as soon as it is made (a ``RESYNC`` with
        ``since``) or refused (``UNWATCHED``). A mailbox's first sync then waits for it: a read that begins after
        the subscription needs no second read for the changes made in between (EWS: a SyncFolderItems less)."""
        ...

    def throttle_key(self, mailbox: str) -> str:
        """Mailboxes with the same key share the server's throttling budget: when one is throttled, all of them
        wait (EWS: the impersonating service account; Graph: the mailbox itself)."""
        ...

    def credential_key(self, mailbox: str) -> str:
        """Mailboxes with the same key are read with the same credentials: when the server rejects them, all of
        them are in error at once (EWS: the impersonating service account; Graph: the app registration)."""
        ...

    def partition(self, mailboxes: Sequence[str]) -> list[list[str]]:
        """Groups of mailboxes that :meth:`watch` serves together (EWS: one service account, at most 200 per
        streaming connection); every mailbox is in exactly one group."""
        ...

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        """What ``WindowRead.of(window)`` wants of the mailbox's calendar (series within ``window``, single
        meetings up to ``window.singles_end``: :mod:`tc_calendar.sync.window`), and the checkpoint
        to continue from (see :class:`~tc_calendar.records.WindowSnapshot`). ``sync_state`` is the stored
        checkpoint, which a provider may continue from to find its new one faster (``None``: none or invalid)."""
        ...

    def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        """What ``read`` wants of the mailbox's calendar (:class:`~tc_calendar.sync.window.WindowRead`): the
        singles overlapping ``read.singles``, and every series with an occurrence overlapping ``read.series``, as
        its master (with ``exceptions`` attached) or as the occurrences the server expanded; the sync core accepts
        both (:func:`tc_calendar.sync.normalize.normalize_items`) and drops what lies outside the window, so
        handing over more is harmless, only slower."""
        ...

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        """The next page of changes since ``sync_state`` (``None``: from the beginning)."""
        ...

    def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        """Triggers for sync rounds of these mailboxes (change notifications, or a poll timer) for as long as the
        iterator is consumed. A trigger carries no data the store relies on."""
        ...

    async def aclose(self) -> None:
        """Release connections and subscriptions."""
        ...
