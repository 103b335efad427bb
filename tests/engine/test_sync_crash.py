"""A sync process killed with SIGKILL at any moment, during the initial and during incremental syncs, loses and
duplicates nothing once restarted: every meeting is in every view, with exactly one change-log entry each."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from engine_world import ALICE, BOB, CAROL, DAVE

from ews_sim.server import EwsSimulator
from tc_calendar.model import ChangeKind
from tc_calendar.store import Store
from waiting import eventually

HERE = Path(__file__).parent
USERS = [ALICE, BOB, CAROL, DAVE]
TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8), tzinfo=UTC)


class SyncProcess:
    def __init__(self, sim: EwsSimulator, database_url: str, log: Path) -> None:
        self.log = log
        self.sim = sim
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # the child imports sync_harness (here), which imports the tests' own helpers (one level up)
        paths = [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        with self.log.open("ab") as log:  # the processes' logs, for when a test fails
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / "sync_process.py"), self.sim.url, self.database_url, *USERS],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def sync_process(ews_sim: EwsSimulator, database_url: str, tmp_path: Path) -> Iterator[SyncProcess]:
    process = SyncProcess(ews_sim, database_url, tmp_path / "sync_process.log")
    yield process
    process.kill()


def schedule(sim: EwsSimulator, n: int, offset: int = 0) -> list[str]:
    subjects = []
    for i in range(offset, offset + n):
        organizer = USERS[i % len(USERS)]
        attendees = [u for u in USERS if u != organizer][: 1 + i % 3]
        start = TOMORROW + timedelta(hours=i)
        sim.world.create_meeting(organizer, f"Meeting {i}", start, start + timedelta(minutes=30), required=attendees)
        subjects.append(f"Meeting {i}")
    return subjects


async def expected_views(sim: EwsSimulator) -> dict[str, set[str]]:
    return {user: {item.subject for item in sim.world.find_items(user)} for user in USERS}


async def all_synced(store: Store, sim: EwsSimulator) -> bool:
    expected = await expected_views(sim)
    for user in USERS:
        view = await store.load_view(user, TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=30))
        if {occurrence.title for occurrence, _ in view} != expected[user]:
            return False
    return True


async def assert_each_change_logged_once(store: Store) -> None:
    changes = await store.changes_after(0, limit=100_000)
    counts = Counter((c.user, c.key) for c in changes if c.kind is ChangeKind.UPSERT)
    assert counts and set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1]


async def test_killed_during_the_initial_sync_it_resumes_without_loss_or_duplicates(
    ews_sim: EwsSimulator, store: Store, sync_process: SyncProcess
) -> None:
    schedule(ews_sim, 40)
    ews_sim.world.gate.set_latency(15)
    rng = random.Random(5)
    for _ in range(2):
        sync_process.start()
        await asyncio.sleep(rng.uniform(0.8, 2.0))
        sync_process.kill()
    ews_sim.world.gate.set_latency(0)
    sync_process.start()

    await eventually(lambda: all_synced(store, ews_sim), within=40, what="every meeting in every view")
    await asyncio.sleep(0.5)
    await assert_each_change_logged_once(store)


async def test_killed_during_incremental_syncs_it_resumes_without_loss_or_duplicates(
    ews_sim: EwsSimulator, store: Store, sync_process: SyncProcess
) -> None:
    schedule(ews_sim, 8)
    sync_process.start()
    await eventually(lambda: all_synced(store, ews_sim), within=30, what="the initial sync")
    rng = random.Random(7)
    offset = 8
    for _ in range(2):
        schedule(ews_sim, 6, offset)
        offset += 6
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        sync_process.kill()
        schedule(ews_sim, 3, offset)  # changes while the connector is down
        offset += 3
        sync_process.start()
        await asyncio.sleep(rng.uniform(0.8, 1.5))

    await eventually(lambda: all_synced(store, ews_sim), within=40, what="every meeting in every view")
    await asyncio.sleep(0.5)
    await assert_each_change_logged_once(store)
