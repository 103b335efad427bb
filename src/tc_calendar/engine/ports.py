"""What the sync engine needs from the store and from the sync core, stated once.

The engine is written against these small protocols rather than against concrete classes, so its tests can
run against the real store while the shape of each dependency stays visible in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from tc_calendar.model import Change, Occurrence, OccurrenceKey, Response
from tc_calendar.records import RemoteItem, SyncBatch
from tc_calendar.store.records import ConfiguredMailbox, MailboxState, MailboxStatus, NodeCount, SyncStart
from tc_calendar.sync.actions import Action
from tc_calendar.sync.diff import StoredScope, StoredView
from tc_calendar.sync.window import SyncWindow

NotifyHook = Callable[[Sequence[Change]], Awaitable[None] | None]
"""Called after every commit that produced change-log entries (the API wakes its subscribers)."""

AccountFailureHook = Callable[[str, str], Awaitable[None]]
"""Called with (mailbox, message) when Exchange rejects the service account serving that mailbox: the failure is
the account's, so every mailbox it serves is in error at once."""


class SyncStore(Protocol):
    """The store calls the engine makes; each is one short transaction."""

    async def apply(self, actions: Sequence[Action]) -> list[Change]: ...

    async def stored_views(self, mailbox: str, scope: StoredScope | None = None) -> dict[OccurrenceKey, StoredView]:
        """What the store holds for each occurrence in ``mailbox``'s view (within ``scope``, if given), as the diff
        compares it."""
        ...


    async def load_sync_starts(self, emails: Collection[str]) -> dict[str, SyncStart]:
        """Checkpoint and first-seen time of each registered mailbox of ``emails``, in one read."""
        ...

    async def load_view(self, user: str, start: datetime, end: datetime) -> list[tuple[Occurrence, Response]]: ...

    async def register_config_mailboxes(self, entries: Sequence[ConfiguredMailbox]) -> None: ...

    async def register_on_demand_mailbox(self, email: str, provider_index: int = 0) -> bool: ...

    async def list_mailboxes(self) -> list[MailboxStatus]: ...

    async def get_mailbox(self, email: str) -> MailboxStatus | None: ...

    async def set_mailbox_state(self, email: str, state: MailboxState) -> None: ...

    async def touch_mailbox(self, email: str) -> None: ...

    async def forget_mailbox(self, email: str, *, requested_before: datetime | None = None) -> bool: ...

    async def record_sync_success(self, email: str) -> None: ...

    async def record_sync_error(self, email: str, error: str) -> None: ...

    async def record_sync_errors(self, emails: Collection[str], error: str) -> None: ...

    async def lease_mailboxes(self, owner: str, limit: int, ttl: timedelta) -> list[str]: ...

    async def lease_mailbox(self, email: str, owner: str, ttl: timedelta) -> bool: ...

    async def renew_leases(self, owner: str, ttl: timedelta) -> list[str]: ...

    async def release_lease(self, owner: str, email: str | None = None) -> None: ...

    async def release_leases(self, owner: str, emails: Collection[str]) -> None: ...

    async def announce_node(self, node: str, ttl: timedelta) -> NodeCount: ...

    async def forget_node(self, node: str) -> None: ...


class SyncPlanner(Protocol):
    """The pure sync core: remote items and stored views in, store actions (ending with the checkpoint) out."""

    def full(
        self,
        mailbox: str,
        items: Sequence[RemoteItem],
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
        sync_state: str | None,
    ) -> list[Action]: ...

    def incremental_scope(self, batch: SyncBatch) -> StoredScope: ...

    def incremental(
        self,
        mailbox: str,
        batch: SyncBatch,
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
    ) -> list[Action]: ...

    def slide(
        self,
        mailbox: str,
        items: Sequence[RemoteItem],
        slid_out: Sequence[OccurrenceKey],
        stored: Mapping[OccurrenceKey, StoredView],
        window: SyncWindow,
        sync_state: str | None,
    ) -> list[Action]: ...


