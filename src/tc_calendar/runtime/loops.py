"""The connector's background loops: started by name with one shared stop event, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Running:
    name: str
    task: asyncio.Task[None]
    cancel: bool


class Loops:
    """Starts loops that end when :attr:`stop` is set; ``await stop_all()`` then ``await wait()`` end them.

    A loop started with ``cancel=True`` is cancelled instead of waited for: its round may wait on something
    slow (a check-in waiting for its timeout) that has nothing to finish.
    """

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self._running: list[_Running] = []

    def start(self, name: str, loop: Callable[[asyncio.Event], Awaitable[None]], *, cancel: bool = False) -> None:
        """Run ``loop(stop)`` as a task named ``name``."""
        async def run() -> None:
            await loop(self.stop)

        self._running.append(_Running(name, asyncio.create_task(run(), name=name), cancel))

    async def stop_all(self) -> None:
        """Ask every loop to stop; cancel those started with ``cancel=True`` and wait for them to end (so none of
        their rounds runs on while the caller stops what they act on). :meth:`wait` for the others."""
        self.stop.set()
        cancelled = [running for running in self._running if running.cancel]
        for running in cancelled:
            running.task.cancel()
        for running in cancelled:
            with contextlib.suppress(asyncio.CancelledError):
                await running.task

    async def wait(self) -> None:
        """Wait until every loop has ended, in the order they were started; a loop's error is raised here."""
        for running in self._running:
            if not running.cancel:
                await running.task
        self._running.clear()
