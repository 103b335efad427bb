"""Migration 0003 makes ``released`` a launch state of its own, and going back keeps the older launcher working.

Before 0003 a claim handed back was ``failed`` with a ``released:`` reason, which that launcher claims again at
once; upgrading turns such rows into ``released``, downgrading turns ``released`` rows back into them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from tc_calendar.model import OccurrenceKey
from tc_calendar.store import LaunchState, Store, downgrade_async, upgrade_async
from tc_calendar.store.engine import create_engine
from tc_calendar.store.tables import launches

BEFORE = "0002"
SCHEDULED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[AsyncConnection]:
    """A plain connection in one transaction, for a database at a revision the store's code may not expect."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            yield connection
    finally:
        await engine.dispose()


async def add_row(url: str, uid: str, state: str, error: str | None) -> None:
    async with connected(url) as connection:
        await connection.execute(
            insert(launches).values(uid=uid, recurrence_id="", conference_id="team", scheduled_at=SCHEDULED,
                                    claimed_by="node-1", claimed_at=SCHEDULED, state=state, last_error=error)
        )


async def rows(url: str) -> dict[str, tuple[str, str | None]]:
    """uid -> (state, last_error) of every launch row."""
    async with connected(url) as connection:
        result = await connection.execute(select(launches.c.uid, launches.c.state, launches.c.last_error))
        return {uid: (state, error) for uid, state, error in result}


async def test_upgrading_turns_launches_handed_back_into_released_and_leaves_real_failures(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url, BEFORE)
    await add_row(url, "moved", "failed", "released: rescheduled to 2026-01-05T10:00:00+00:00")
    await add_row(url, "broken", "failed", "TrueConf Server answered 503")
    await add_row(url, "done", "started", None)

    await upgrade_async(url)

    assert await rows(url) == {
        "moved": ("released", "rescheduled to 2026-01-05T10:00:00+00:00"),
        "broken": ("failed", "TrueConf Server answered 503"),
        "done": ("started", None),
    }
    async with Store.open(url) as store:
        record = await store.get_launch(OccurrenceKey("moved"))
        assert record is not None and record.state is LaunchState.RELEASED
        assert await store.retry_launch(OccurrenceKey("moved"), "node-2")


async def test_downgrading_turns_released_launches_into_what_the_older_launcher_claims_again_at_once(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url)
    async with Store.open(url) as store:
        for uid in ("stopped", "broken"):
            assert await store.claim_launch(OccurrenceKey(uid), "team", SCHEDULED, "node-1")
        await store.release_launch(
            OccurrenceKey("stopped"), "node-1", LaunchState.RELEASED, "the connector stopped before the start"
        )
        await store.finish_launch(OccurrenceKey("broken"), LaunchState.FAILED, "TrueConf Server answered 503")

    await downgrade_async(url, BEFORE)

    assert await rows(url) == {
        "stopped": ("failed", "released: the connector stopped before the start"),
        "broken": ("failed", "TrueConf Server answered 503"),
    }
    with pytest.raises(IntegrityError):  # the narrower CHECK constraint is back
        await add_row(url, "new", "released", "rescheduled")

    await upgrade_async(url)
    assert (await rows(url))["stopped"] == ("released", "the connector stopped before the start")


async def test_after_upgrading_the_database_accepts_released_and_still_refuses_unknown_states(
    database_url: str,
) -> None:
    await add_row(database_url, "moved", "released", "rescheduled")
    with pytest.raises(IntegrityError):
        await add_row(database_url, "odd", "paused", None)
    assert await rows(database_url) == {"moved": ("released", "rescheduled")}
