"""Notifications: keep the provider's change streams open and turn them into "sync this mailbox now" triggers.

Mailboxes are watched in groups (the provider's ``partition``: for EWS one service account and up to 200
subscriptions per streaming connection). A group whose stream fails is marked unhealthy so its mailboxes fall
back to frequent polling (SyncFolderItems on a timer), and the stream is retried with back-off. Mailboxes added
later (on demand) go into new groups instead of restarting existing ones.

Notifications only wake sync loops; they carry no data the store relies on. Whatever a stream misses, the next
SyncFolderItems from the stored SyncState catches up, which is why a lost stream costs latency, never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from tc_calendar.backoff import STREAM_RETRY, BackoffPolicy
from tc_calendar.failure_log import FailureLog
from tc_calendar.providers.base import (
    CalendarProvider,
    MailboxNotification,
    NotificationKind,
    ProviderError,
    ThrottledError,
)

log = logging.getLogger(__name__)

NotificationSink = Callable[[MailboxNotification], None]
HealthSink = Callable[[Sequence[str], bool], None]


class NotificationHub:
    """Runs one watch task per group of mailboxes of one provider."""

    def __init__(
        self,
        provider: CalendarProvider,
        on_notification: NotificationSink,
        on_health: HealthSink,
        *,
        retry: BackoffPolicy | None = None,
    ) -> None:
        self._provider = provider
        self._on_notification = on_notification
        self._on_health = on_health
        self._retry = retry or STREAM_RETRY
        self._tasks: list[asyncio.Task[None]] = []
        self._watched: set[str] = set()

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def watches(self, mailbox: str) -> bool:
        return mailbox in self._watched

    def watch(self, mailboxes: Sequence[str]) -> None:
        """Start watching those of ``mailboxes`` not yet watched, in new groups."""
        new = [mailbox for mailbox in dict.fromkeys(mailboxes) if mailbox not in self._watched]
        if not new:
            return
        self._watched.update(new)
        for group in self._provider.partition(new):
            self._tasks.append(asyncio.create_task(self._run_group(group), name=f"watch:{group[0]}+{len(group) - 1}"))

    async def _run_group(self, group: list[str]) -> None:
        failures = 0
        # One ERROR line when the group's notifications fail, a count while they go on failing, one line when they
        # work again: a Subscribe that keeps failing must not flood the log, nor go unnoticed.
        failure_log = FailureLog(log, f"notifications for {_describe_group(group)}", leave_database_errors=False)
        while True:
            try:
                healthy = False
                # Mailboxes whose subscription was refused while the group's others stream: they are polled at
                # the short interval, as in a failed group, until a later Subscribe for them succeeds.
                refused: set[str] = set()
                async for notification in self._provider.watch(group):
                    mailbox = notification.mailbox
                    if notification.kind is NotificationKind.UNWATCHED:
                        refused.add(mailbox)
                        self._on_health([mailbox], False)
                    elif mailbox in refused and notification.since is not None:  # subscribed at a later try
                        refused.discard(mailbox)
                        if healthy:
                            self._on_health([mailbox], True)
                    # A refused subscription tells nothing of the group's stream.
                    if not healthy and notification.kind is not NotificationKind.UNWATCHED:
                        healthy = True
                        failures = 0
                        failure_log.succeeded()
                        self._on_health([member for member in group if member not in refused], True)
                    self._on_notification(notification)
                raise ProviderError("the notification stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                asked = exc.backoff_seconds if isinstance(exc, ThrottledError) else None
                delay = self._retry.delay(failures, asked=asked)
                failure_log.failed(exc)
                log.info("notifications for %s: polling instead, retrying in %.0fs", _describe_group(group), delay)
                self._on_health(group, False)
                await asyncio.sleep(delay)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._watched.clear()


def _describe_group(group: Sequence[str], shown: int = 3) -> str:
    """``3 mailboxes (a, b, c)`` or ``250 mailboxes (a, b, c and 247 more)``: which group, in one log line."""
    names = ", ".join(group[:shown])
    more = f" and {len(group) - shown} more" if len(group) > shown else ""
    return f"{len(group)} mailbox{'es' if len(group) != 1 else ''} ({names}{more})"
