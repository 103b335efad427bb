"""The per-service-account thread pool: blocking calls never block the event loop and stay within the budget."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from tc_calendar.providers.pool import BlockingPool, PoolClosedError

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
