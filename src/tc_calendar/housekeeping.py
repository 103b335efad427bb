"""Keeps the database from growing without bound: old change-log entries and finished launches are pruned.

The change log is what clients resume from; 30 days covers a TrueConf Server that was down for a long holiday,
and a client further behind is told to reload (``-32016``) rather than miss changes. Launch records are kept
while their occurrence is inside the sync window, so ``tc_calendar status`` can still show them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.runtime import repeat
from tc_calendar.sync.window import window_at

log = logging.getLogger(__name__)

CHANGE_LOG_RETENTION = timedelta(days=30)
INTERVAL_SECONDS = 6 * 3600.0


class PrunableStore(Protocol):
    """What housekeeping needs of the store."""

    async def prune_changes(self, before: datetime) -> int: ...

    async def prune_launches(self, before: datetime) -> int: ...


async def prune_once(store: PrunableStore, now: datetime, backward_months: int) -> tuple[int, int]:
    """Prune what is due at ``now``; returns (change-log entries, launch records) removed."""
    changes = await store.prune_changes(now - CHANGE_LOG_RETENTION)
    launches = await store.prune_launches(window_at(now, backward_months, 0).start)
    if changes or launches:
        log.info("housekeeping: pruned %d change-log entries and %d launch records", changes, launches)
    return changes, launches


async def run_housekeeping(
    store: PrunableStore,
    backward_months: int,
    stop: asyncio.Event,
    *,
    clock: WallClock = utc_now,
    interval: float = INTERVAL_SECONDS,
) -> None:
    """Prune at start and every ``interval`` seconds until ``stop``; a failure (the database may be briefly
    unavailable) is logged and tried again the next round."""

    async def prune() -> None:
        await prune_once(store, clock(), backward_months)

    await repeat(prune, what="housekeeping", log=log, interval=interval, stop=stop)
