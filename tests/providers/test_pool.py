"""The per-service-account thread pool: blocking calls never block the event loop and stay within the budget."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from tc_calendar.providers.pool import BlockingPool, PoolClosedError, setup_calls, urgent_calls
from waiting import eventually

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def test_no_more_calls_run_at_once_than_the_budget_and_the_loop_stays_free() -> None:
    pool = BlockingPool("svc", 3)
    running = 0
    peak = 0
    lock = threading.Lock()

    def blocking_call() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    clock = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(pool.run(blocking_call) for _ in range(12)))
    finally:
        clock.cancel()
        pool.close()

    assert peak == 3
    assert ticks >= 10  # the loop kept running while the threads slept


async def test_context_variables_reach_the_thread_and_closed_pools_refuse_work() -> None:
    pool = BlockingPool("svc", 1)
    REQUEST_ID.set("alice@corp.test")

    assert await pool.run(REQUEST_ID.get) == "alice@corp.test"
    pool.close()
    with pytest.raises(PoolClosedError):
        await pool.run(REQUEST_ID.get)


async def submitted(pool: BlockingPool, calls: int) -> None:
    """Wait until ``calls`` calls were handed to ``pool`` (running or queued): each queues on its task's first step."""
    await eventually(lambda: pool.in_flight >= calls, 10, f"{calls} calls handed to the pool", every=0)


async def test_urgent_calls_go_ahead_of_the_queued_ones() -> None:
    """A change to a synchronized mailbox must not wait behind thousands of queued initial-sync requests: calls
    made within ``urgent_calls()`` take the next free thread before every call queued without it."""
    pool = BlockingPool("svc", 1)
    release = threading.Event()
    order: list[str] = []

    def call(name: str) -> None:
        if name == "first":
            release.wait(5)
        order.append(name)

    async def urgent(name: str) -> None:
        with urgent_calls():
            await pool.run(call, name)

    try:
        first = asyncio.create_task(pool.run(call, "first"))
        await submitted(pool, 1)
        queued = [asyncio.create_task(pool.run(call, f"bulk {n}")) for n in range(5)]
        await submitted(pool, 6)
        change = asyncio.create_task(urgent("change"))
        await submitted(pool, 7)
        release.set()
        await asyncio.gather(first, change, *queued)
    finally:
        pool.close()

    assert order == ["first", "change", *(f"bulk {n}" for n in range(5))]


async def test_setup_calls_take_turns_with_the_queued_ones() -> None:
    """Thousands of Subscribes queued at a start must not hold back every first read: calls made within
    ``setup_calls()`` and the others take the free threads by turns (two setup calls for one other), each in order of
    arrival; urgent calls still go first."""
    pool = BlockingPool("svc", 1)
    release = threading.Event()
    order: list[str] = []

    def call(name: str) -> None:
        if name == "first":
            release.wait(5)
        order.append(name)

    async def setup(name: str) -> None:
        with setup_calls():
            await pool.run(call, name)

    async def urgent(name: str) -> None:
        with urgent_calls():
            await pool.run(call, name)

    try:
        first = asyncio.create_task(pool.run(call, "first"))
        await submitted(pool, 1)
        subscribes = [asyncio.create_task(setup(f"subscribe {n}")) for n in range(4)]
        await submitted(pool, 5)
        reads = [asyncio.create_task(pool.run(call, f"read {n}")) for n in range(2)]
        await submitted(pool, 7)
        change = asyncio.create_task(urgent("change"))
        await submitted(pool, 8)
        release.set()
        await asyncio.gather(first, change, *subscribes, *reads)
    finally:
        pool.close()

    assert order == [
        "first", "change", "read 0", "subscribe 0", "subscribe 1", "read 1", "subscribe 2", "subscribe 3"
    ]


async def test_a_cancelled_waiter_gives_its_turn_on() -> None:
    pool = BlockingPool("svc", 1)
    release = threading.Event()
    try:
        first = asyncio.create_task(pool.run(release.wait, 5))
        await submitted(pool, 1)
        gone = asyncio.create_task(pool.run(time.sleep, 0))
        await submitted(pool, 2)
        gone.cancel()
        after = asyncio.create_task(pool.run(lambda: "ran"))
        release.set()
        assert await asyncio.wait_for(after, 5) == "ran"
        assert await first
        assert pool.in_flight == 0
    finally:
        pool.close()
