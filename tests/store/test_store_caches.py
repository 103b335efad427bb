"""The TrueConf user cache and the meta table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store_builders import ALICE, BOB, MONDAY_9

from tc_calendar.store import Store, TrueConfUser


async def test_trueconf_users_are_cached_by_lower_case_email_and_refreshed_in_place(store: Store) -> None:
    await store.upsert_trueconf_users(
        [TrueConfUser("Alice@Example.com", "alice", "Alice", MONDAY_9), TrueConfUser(BOB, "bob", "Bob", MONDAY_9)]
    )
    later = MONDAY_9 + timedelta(hours=1)
    await store.upsert_trueconf_users([TrueConfUser(ALICE, "alice.smith", "Alice Smith", later)])

    found = await store.lookup_trueconf_users([ALICE.upper(), "nobody@example.com"])

    assert found == {ALICE: TrueConfUser(ALICE, "alice.smith", "Alice Smith", later)}
    assert await store.lookup_trueconf_users([]) == {}


async def test_meta_values_are_set_and_replaced(store: Store) -> None:
    assert await store.get_meta("first_start") is None

    await store.set_meta("first_start", "2026-01-05T09:00:00+00:00")
    await store.set_meta("first_start", "2026-01-06T09:00:00+00:00")

    assert await store.get_meta("first_start") == "2026-01-06T09:00:00+00:00"


async def test_a_generated_default_is_kept_by_the_first_writer(store: Store) -> None:
    results = await asyncio.gather(*(store.set_meta_default("api_secret", f"secret-{n}") for n in range(5)))

    assert len(set(results)) == 1
    assert await store.get_meta("api_secret") == results[0]
