"""Reads of the store that only tests need, built on the store's own public methods."""

from __future__ import annotations

from datetime import datetime

from tc_calendar.model import OccurrenceKey
from tc_calendar.store import Store
from tc_calendar.store.records import MailboxCheckpoint
from tc_calendar.sync.actions import SaveCheckpoint


async def checkpoint_of(store: Store, email: str) -> MailboxCheckpoint | None:
    """Where ``email``'s sync loop would resume (None: the mailbox is not registered)."""
    start = (await store.load_sync_starts([email])).get(email.lower())
    return None if start is None else start.checkpoint


async def save_checkpoint(store: Store, email: str, sync_state: str | None, start: datetime, end: datetime) -> None:
    """Save a checkpoint alone, as a sync batch that changed nothing does."""
    await store.apply([SaveCheckpoint(email, sync_state, start, end)])


async def own_copy_hashes(store: Store, mailbox: str) -> dict[OccurrenceKey, str]:
    """Key -> content hash of ``mailbox``'s own copy: what the sync core diffs Exchange against."""
    return {key: view.content_hash for key, view in (await store.stored_views(mailbox)).items()}
