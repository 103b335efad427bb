"""Waiting in tests for what the system under test does on its own time (threads, processes, servers, tasks).

A test waits for the effect it expects, never for a fixed time; the bound is generous because it only limits a
failing test on a slow, shared machine.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Awaitable[Any] | Any], within: float = 30.0, what: str = "condition", *, every: float = 0.05
) -> Any:
    """Ask ``check`` (plain or async) every ``every`` seconds until its answer is true, and return that answer.

    ``every=0`` asks again at each turn of the event loop: for state that other tasks of the test change.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer = check()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return answer
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(every)
