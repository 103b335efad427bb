"""When Exchange throttles, the log says so in the words docs/operations.md gives the administrator."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from engine_world import ALICE, BOB, SERVICE_LOGIN, SERVICE_PASSWORD
from sync_harness import SyncHarness

from ews_sim.server import EwsSimulator
from tc_calendar.store import Store
from waiting import eventually

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(10), tzinfo=UTC)


def documented_throttling_line() -> re.Pattern[str]:
    """The troubleshooting table's throttling message, with its ``...`` as wildcards."""
    rows = [line for line in OPERATIONS.read_text().splitlines() if line.startswith("| `") and "throttl" in line]
    assert len(rows) == 1, rows
    message = rows[0].split("`")[1]
    return re.compile(".*".join(re.escape(part) for part in message.split("...")))


async def test_a_throttled_mailbox_is_logged_as_the_operations_guide_says(
    ews_sim: EwsSimulator, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    documented = documented_throttling_line()
    sync = SyncHarness(ews_sim, store, [(SERVICE_LOGIN, SERVICE_PASSWORD)])
    try:
        await sync.start([ALICE, BOB])
        await sync.streaming([ALICE, BOB])
        with caplog.at_level(logging.INFO, logger="tc_calendar.engine"):
            sync.world.gate.server_busy(count=2, backoff_ms=300, operation="SyncFolderItems")
            sync.world.create_meeting(ALICE, "Standup", TOMORROW, TOMORROW + timedelta(hours=1), required=[BOB])

            async def throttled() -> bool:
                return any("throttl" in record.getMessage() for record in caplog.records)

            await eventually(throttled, what="a log line about throttling")
        lines = [record.getMessage() for record in caplog.records if "throttl" in record.getMessage()]
        assert all(documented.search(line) for line in lines), (documented.pattern, lines)
        assert all(SERVICE_LOGIN in line for line in lines), lines
    finally:
        await sync.stop()
