"""EWS reads made by worker processes (``providers/workers.py``): the engine gets the same records and the same
errors as from the connector's own process, the service account's budget stays one budget across the processes,
and a worker that dies costs a retried read, never a lost one."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.providers.test_ews_adapter import (
    ALICE,
    BOB,
    HOUR,
    LOGIN,
    PASSWORD,
    PEOPLE,
    TOMORROW,
    WINDOW,
    make_world,
    provider_for,
)

from ews_sim.server import EwsSimulator
from tc_calendar.metrics import Metrics
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.base import MailboxError, MailboxErrorReason, ProviderError
from tc_calendar.providers.workers import (
    EwsWithWorkers,
    WorkerStoppedError,
    _opened,
    default_workers,
    ews_with_workers,
)
from tc_calendar.sync.window import WindowRead
from waiting import eventually

BOUND = 60.0
"""Generous: a worker is a new interpreter that imports exchangelib, on a shared machine."""


@pytest.fixture
def sim() -> Iterator[EwsSimulator]:
    with EwsSimulator(make_world(), host="127.0.0.1", port=0) as running:
        yield running


def with_workers(sim: EwsSimulator, workers: int = 1, *, metrics: Metrics | None = None,
                 restart_delay: float = 0.0, **settings: Any) -> EwsWithWorkers:  # fmt: skip
    endpoint = EndpointSettings(
        **{"url": sim.url, "auth": "basic", "timeout_seconds": 10, "server_version": "Exchange2016", **settings}
    )
    (provider,) = ews_with_workers([(endpoint, [(LOGIN, PASSWORD)])], workers, metrics=metrics,
                                   restart_delay=restart_delay)  # fmt: skip
    return provider


async def ready(provider: EwsWithWorkers, workers: int = 1) -> list[int]:
    """The workers' pids once ``workers`` of them are ready: the first read starts them (it is made in this process,
    as every read until a worker is ready)."""
    await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    await eventually(lambda: len(provider.worker_pids) >= workers, BOUND, f"{workers} worker(s) ready")
    return provider.worker_pids


@pytest.fixture
async def provider(sim: EwsSimulator) -> AsyncIterator[EwsWithWorkers]:
    made = with_workers(sim)
    await ready(made)
    yield made
    await made.aclose()


def calendar_of_alice(sim: EwsSimulator) -> None:
    for n in range(3):
        start = TOMORROW + timedelta(days=n)
        sim.world.create_meeting(ALICE, f"Review {n}", start, start + HOUR, required=[BOB])


async def test_a_window_read_by_a_worker_gives_what_the_connectors_own_read_gives(
    sim: EwsSimulator, provider: EwsWithWorkers
) -> None:
    calendar_of_alice(sim)
    own = provider_for(sim)
    try:
        expected = await own.read_window(ALICE, WINDOW, None)
        expected_items = [item async for item in own.initial_items(BOB, WindowRead.of(WINDOW))]
    finally:
        await own.aclose()

    snapshot = await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    items = [item async for item in provider.initial_items(BOB, WindowRead.of(WINDOW))]

    assert snapshot.items == expected.items
    assert sorted(i.subject for i in snapshot.items) == ["Review 0", "Review 1", "Review 2"]
    assert snapshot.sync_state
    assert items == expected_items
    assert os.getpid() not in provider.worker_pids


async def test_changes_read_by_a_worker_continue_from_its_sync_state(
    sim: EwsSimulator, provider: EwsWithWorkers
) -> None:
    snapshot = await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    calendar_of_alice(sim)

    batch = await provider.sync_changes(ALICE, snapshot.sync_state)

    assert sorted(item.subject for item in batch.items) == ["Review 0", "Review 1", "Review 2"]
    assert batch.sync_state != snapshot.sync_state


async def test_an_error_in_a_worker_reaches_the_engine_whole(provider: EwsWithWorkers) -> None:
    with pytest.raises(MailboxError, match="no such mailbox") as raised:
        await asyncio.wait_for(provider.read_window("nobody@corp.test", WINDOW, None), BOUND)

    assert raised.value.reason is MailboxErrorReason.NOT_FOUND
    assert raised.value.mailbox == "nobody@corp.test"


async def test_the_workers_requests_are_counted_in_the_connectors_metrics(sim: EwsSimulator) -> None:
    metrics = Metrics()
    provider = with_workers(sim, metrics=metrics)
    try:
        await ready(provider)
        await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    finally:
        await provider.aclose()

    counted = metrics.ews_requests.labels(operation="SyncFolderItems", result="ok")._value.get()
    assert counted == sim.world.gate.counters()["SyncFolderItems"]["total"] >= 1


async def test_a_workers_log_records_are_written_by_the_connectors_handlers(
    sim: EwsSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tc_calendar.providers.workers")
    provider = with_workers(sim)  # a worker logs what the connector's levels let through when it was made
    try:
        (pid,) = await ready(provider)
        await eventually(lambda: any(r.process == pid for r in caplog.records), BOUND, "the worker's log record")
    finally:
        await provider.aclose()

    (record,) = [r for r in caplog.records if r.process == pid]
    assert record.getMessage() == f"EWS worker process 0 ready (pid {pid})"


async def test_processes_share_the_accounts_budget(sim: EwsSimulator) -> None:
    """Two workers and the connector's process, each with more threads than the budget: Exchange, which answers
    ErrorServerBusy past the budget, never sees more than the budget at once."""
    sim.world.gate.set_max_concurrency(2)
    sim.world.gate.set_latency(100)
    provider = with_workers(sim, workers=2, max_concurrency=2)
    try:
        await ready(provider, 2)
        snapshots = await asyncio.wait_for(
            asyncio.gather(*(provider.read_window(m, WINDOW, None) for m in PEOPLE)), BOUND
        )
    finally:
        sim.world.gate.clear()
        await provider.aclose()

    assert all(s.sync_state for s in snapshots)
    assert not any("ErrorServerBusy" in row for row in sim.world.gate.counters().values())


async def test_a_worker_killed_mid_read_fails_that_read_as_transient_and_a_new_worker_takes_the_next(
    sim: EwsSimulator,
) -> None:
    """With a budget of one request: the killed worker held the slot, which comes back with the new worker."""
    calendar_of_alice(sim)
    provider = with_workers(sim, timeout_seconds=120, max_concurrency=1)
    try:
        (first,) = await ready(provider)
        sim.world.gate.set_latency(100_000)
        reading = asyncio.create_task(provider.read_window(ALICE, WINDOW, None))
        await eventually(lambda: sim.world.gate.in_flight(LOGIN) >= 1, BOUND, "a request at Exchange")

        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerStoppedError, match="stopped with exit code -9"):
            await asyncio.wait_for(reading, BOUND)
        sim.world.gate.set_latency(0)
        await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)  # starts the new worker
        (second,) = await ready(provider)
        snapshot = await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    finally:
        await provider.aclose()

    assert len(snapshot.items) == 3
    assert second != first


async def test_while_no_worker_is_ready_the_reads_are_made_in_the_connectors_process(sim: EwsSimulator) -> None:
    """A worker that died (and is not started again for a minute) holds no read up."""
    calendar_of_alice(sim)
    provider = with_workers(sim, restart_delay=60)
    try:
        (worker,) = await ready(provider)
        os.kill(worker, signal.SIGKILL)
        await eventually(lambda: not provider.started_pids, BOUND, "the dead worker noticed")
        snapshot = await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
        pids = provider.started_pids
    finally:
        await provider.aclose()

    assert len(snapshot.items) == 3
    assert pids == []


async def test_workers_start_at_the_first_read(sim: EwsSimulator) -> None:
    """A connector whose sync never reads (paused by its licence, say) starts no worker."""
    provider = with_workers(sim, workers=2)
    before = provider.started_pids
    await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)
    after = provider.started_pids
    await provider.aclose()

    assert before == []
    assert len(after) == 2


def test_a_program_that_exits_without_closing_its_provider_is_not_held_up_by_the_workers(tmp_path: Path) -> None:
    """The workers ignore SIGTERM, which multiprocessing sends its children at exit before it waits for them."""
    script = tmp_path / "exits.py"
    script.write_text(EXITS_WITHOUT_CLOSING)

    tests = str(Path(__file__).resolve().parents[1])  # for tests/waiting.py
    finished = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=BOUND,
                              env={**os.environ, "PYTHONPATH": tests})  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1] == "leaving"


EXITS_WITHOUT_CLOSING = """
import asyncio
from waiting import eventually
from ews_sim.server import EwsSimulator
from ews_sim.world import World
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.workers import ews_with_workers
from tc_calendar.sync.window import window_at
from datetime import UTC, datetime

async def main(sim):
    endpoint = EndpointSettings(sim.url, auth="basic", server_version="Exchange2016")
    (provider,) = ews_with_workers([(endpoint, [("svc", "pw")])], 1)
    window = window_at(datetime.now(UTC), 1, 1)
    await provider.read_window("alice@corp.test", window, None)
    await eventually(lambda: provider.worker_pids, 60, "a worker ready")
    await provider.read_window("alice@corp.test", window, None)
    print("read by a worker", flush=True)

if __name__ == "__main__":
    world = World()
    world.add_service_account("svc", "pw", impersonation=True)
    world.add_mailbox("alice@corp.test", "Alice", "Europe/Berlin")
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        asyncio.run(main(sim))
    print("leaving", flush=True)
"""


def test_an_answer_that_cannot_be_read_back_fails_its_read() -> None:
    call_id, ok, value, counts = _opened((7, True, b"not a pickle", [("GetItem", "ok", 1)]))

    assert (call_id, ok, counts) == (7, False, [("GetItem", "ok", 1)])
    assert isinstance(value, ProviderError) and "could not be read" in str(value)


async def test_a_worker_leaves_stopping_to_the_connector(sim: EwsSimulator, provider: EwsWithWorkers) -> None:
    """systemd sends SIGTERM to every process of the service (Ctrl-C sends SIGINT to the process group): the worker
    carries on until the connector, stopping gracefully, has no more reads for it."""
    (pid,) = provider.worker_pids

    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGINT)
    snapshot = await asyncio.wait_for(provider.read_window(ALICE, WINDOW, None), BOUND)

    assert snapshot.sync_state
    assert provider.worker_pids == [pid]


async def test_closing_the_provider_ends_its_workers(sim: EwsSimulator) -> None:
    provider = with_workers(sim, workers=2)
    pids = await ready(provider, 2)

    await asyncio.wait_for(provider.aclose(), BOUND)

    assert len(pids) == 2
    assert not any(running(pid) for pid in pids)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (an ended child not yet reaped is a zombie, ``Z``)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_by_default_one_worker_per_core_beyond_the_first_and_at_most_four() -> None:
    assert [default_workers(cores) for cores in (1, 2, 3, 8, 64)] == [0, 1, 2, 4, 4]
