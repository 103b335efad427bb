"""Migration 0007: after the upgrade every mailbox reads its window once more, so that single meetings beyond
``cache.forward`` which existed before (and which the older rule left out) are synchronized too."""

from __future__ import annotations

from datetime import UTC, datetime

from store_reads import checkpoint_of, save_checkpoint
from tc_calendar.store import Store, upgrade_async
from tc_calendar.store.records import ConfiguredMailbox

ALICE = "alice@corp.test"


async def test_upgrading_forgets_the_stored_windows_and_keeps_the_sync_states(empty_database_url: str) -> None:
    url = empty_database_url
    await upgrade_async(url, "0006")
    async with Store.open(url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(ALICE)])
        await save_checkpoint(store, ALICE, "S1", datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 9, 4, tzinfo=UTC))

    await upgrade_async(url)

    async with Store.open(url) as store:
        checkpoint = await checkpoint_of(store, ALICE)
    assert checkpoint is not None
    assert (checkpoint.sync_state, checkpoint.window_start, checkpoint.window_end) == ("S1", None, None)
