"""An in-memory calendar provider for engine tests that need no Exchange: singles only, scripted faults.

It follows the :class:`~tc_calendar.providers.base.CalendarProvider` contract: a sync state is the version
number of the mailbox's change list, ``sync_changes`` pages through that list, ``watch`` yields what
:meth:`FakeProvider.notify` sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from tc_calendar.backoff import BackoffPolicy
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.providers.base import InvalidSyncStateError, MailboxNotification, NotificationKind, ProviderError
from tc_calendar.records import ItemKind, Person, RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead

FAST = SyncOptions(
    auto_sync=True,
    poll_interval=30.0,
    fallback_poll_interval=30.0,
    transient_retry=BackoffPolicy(base=0.05, cap=0.2),
    error_retry=BackoffPolicy(base=0.05, cap=0.2),
)
"""Sync options for loops over the fake provider: retries in tens of milliseconds, polling out of the way."""


@dataclass
class _Mailbox:
    items: dict[str, RemoteItem] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)  # (change, item id)


class FakeProvider:
    window_bound_checkpoint = False
    notifies_subscriptions = False

    def __init__(self, page_size: int = 2) -> None:
        self.mailboxes: dict[str, _Mailbox] = {}
        self.page_size = page_size
        self.faults: dict[tuple[str, str], list[Exception]] = {}
        self.calls: list[tuple[str, str]] = []
        self.invalid_states: set[str] = set()
        self.reads: list[WindowRead] = []
        self.holds: dict[tuple[str, str], asyncio.Event] = {}
        self._queues: list[asyncio.Queue[MailboxNotification]] = []
        self._counter = 0

    # -- world ---------------------------------------------------------------------------------------------

    def meeting(
        self,
        mailbox: str,
        subject: str,
        start: datetime,
        end: datetime,
        uid: str | None = None,
        last_modified: datetime | None = None,
    ) -> str:
        """A new single meeting, last modified now unless ``last_modified`` says when."""
        self._counter += 1
        item_id = f"item-{self._counter}"
        item = RemoteItem(
            mailbox=mailbox,
            item_id=item_id,
            uid=uid or f"uid-{self._counter}",
            kind=ItemKind.SINGLE,
            subject=subject,
            start=start,
            end=end,
            organizer=Person(mailbox, mailbox.split("@")[0]),
            last_modified=last_modified or datetime.now(UTC),
        )
        box = self.mailboxes.setdefault(mailbox, _Mailbox())
        box.items[item_id] = item
        box.log.append(("change", item_id))
        return item_id

    def update(self, mailbox: str, item_id: str, **changes: object) -> None:
        box = self.mailboxes[mailbox]
        item = box.items[item_id]
        box.items[item_id] = replace(item, last_modified=datetime.now(UTC), **changes)  # type: ignore[arg-type]
        box.log.append(("change", item_id))

    def delete(self, mailbox: str, item_id: str) -> None:
        box = self.mailboxes[mailbox]
        del box.items[item_id]
        box.log.append(("delete", item_id))

    def fail(self, mailbox: str, operation: str, *errors: Exception) -> None:
        self.faults.setdefault((mailbox, operation), []).extend(errors)

    def hold(self, mailbox: str, operation: str) -> asyncio.Event:
        """Make ``operation`` on ``mailbox`` wait until the returned event is set (a slow server)."""
        return self.holds.setdefault((mailbox, operation), asyncio.Event())

    async def notify(self, mailbox: str, kind: NotificationKind = NotificationKind.CHANGED) -> None:
        for queue in self._queues:
            await queue.put(MailboxNotification(mailbox, kind))

    # -- protocol ------------------------------------------------------------------------------------------

    def throttle_key(self, mailbox: str) -> str:
        return "fake"

    def credential_key(self, mailbox: str) -> str:
        return "fake"

    def partition(self, mailboxes: Sequence[str]) -> list[list[str]]:
        return [list(mailboxes)]

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        """Like EWS: the latest sync state first (from ``sync_state`` while it is accepted), then the window."""
        try:
            latest = await self._latest_sync_state(mailbox, sync_state)
        except InvalidSyncStateError:
            latest = await self._latest_sync_state(mailbox, None)
        items = [item async for item in self.initial_items(mailbox, WindowRead.of(window))]
        return WindowSnapshot(tuple(items), latest)

    async def _latest_sync_state(self, mailbox: str, sync_state: str | None) -> str:
        while True:
            batch = await self.sync_changes(mailbox, sync_state)
            sync_state = batch.sync_state
            if batch.includes_last:
                return sync_state

    def _enter(self, mailbox: str, operation: str) -> _Mailbox:
        self.calls.append((mailbox, operation))
        pending = self.faults.get((mailbox, operation))
        if pending:
            raise pending.pop(0)
        box = self.mailboxes.get(mailbox)
        if box is None:
            raise ProviderError("no such mailbox", mailbox=mailbox)
        return box

    async def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        box = self._enter(mailbox, "initial_items")
        self.reads.append(read)
        held = self.holds.get((mailbox, "initial_items"))
        if held is not None:
            await held.wait()
        for item in list(box.items.values()):
            if read.wants(item.start, item.end, recurring=item.kind is not ItemKind.SINGLE):
                yield item

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        box = self._enter(mailbox, "sync_changes")
        if sync_state is not None and sync_state in self.invalid_states:
            raise InvalidSyncStateError("sync state rejected", mailbox=mailbox)
        position = int(sync_state or 0)
        page = box.log[position : position + self.page_size]
        changed: dict[str, RemoteItem] = {}
        deleted: list[str] = []
        for change, item_id in page:
            if change == "delete":
                changed.pop(item_id, None)
                deleted.append(item_id)
            elif item_id in box.items:
                changed[item_id] = box.items[item_id]
        end = position + len(page)
        return SyncBatch(mailbox, tuple(changed.values()), tuple(deleted), str(end), end >= len(box.log))

    async def get_items(self, mailbox: str, item_ids: Sequence[str]) -> list[RemoteItem]:
        box = self._enter(mailbox, "get_items")
        return [box.items[i] for i in item_ids if i in box.items]

    async def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        queue: asyncio.Queue[MailboxNotification] = asyncio.Queue()
        self._queues.append(queue)
        try:
            for mailbox in mailboxes:
                yield MailboxNotification(mailbox, NotificationKind.RESYNC)
            while True:
                notification = await queue.get()
                if notification.mailbox in mailboxes:
                    yield notification
        finally:
            self._queues.remove(queue)

    async def aclose(self) -> None:
        return None
