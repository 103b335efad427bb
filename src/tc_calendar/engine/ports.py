"""What the sync engine needs from the store and from the sync core, stated once.

The engine is written against these small protocols rather than against concrete classes, so its tests can
run against the real store while the shape of each dependency stays visible in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from tc_calendar.model import Change, OccurrenceKey
from tc_calendar.providers.base import RemoteItem, SyncBatch
from tc_calendar.store.records import ConfiguredMailbox, MailboxCheckpoint, MailboxState, MailboxStatus
from tc_calendar.sync.actions import Action
from tc_calendar.sync.window import SyncWindow

NotifyHook = Callable[[Sequence[Change]], Awaitable[None] | None]
"""Called after every commit that produced change-log entries (the API wakes its subscribers)."""


class SyncStore(Protocol):
    """The store calls the engine makes; each is one short transaction."""

    async def apply(self, actions: Sequence[Action]) -> list[Change]: ...

    async def known_keys(self, mailbox: str) -> dict[OccurrenceKey, str]: ...

    async def item_ids(self, mailbox: str) -> dict[OccurrenceKey, str]: ...

    async def load_checkpoint(self, mailbox: str) -> MailboxCheckpoint | None: ...

    async def register_config_mailboxes(self, entries: Sequence[ConfiguredMailbox]) -> None: ...

    async def register_on_demand_mailbox(self, email: str, provider_index: int = 0) -> bool: ...

    async def list_mailboxes(self) -> list[MailboxStatus]: ...

    async def get_mailbox(self, email: str) -> MailboxStatus | None: ...

    async def set_mailbox_state(self, email: str, state: MailboxState) -> None: ...

    async def record_sync_success(self, email: str) -> None: ...

    async def record_sync_error(self, email: str, error: str) -> None: ...


class SyncPlanner(Protocol):
    """The pure sync core: remote items and stored state in, store actions out."""

    def full(
        self,
        mailbox: str,
        items: Sequence[RemoteItem],
        known: dict[OccurrenceKey, str],
        window: SyncWindow,
    ) -> list[Action]: ...

    def incremental(
        self,
        mailbox: str,
        batch: SyncBatch,
        stored_item_ids: dict[OccurrenceKey, str],
        window: SyncWindow,
    ) -> list[Action]: ...


Clock = Callable[[], datetime]
