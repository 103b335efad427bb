"""A flag that tasks wait for, at a fraction of an :class:`asyncio.Event`'s memory.

Every mailbox's sync loop spends most of its life asleep until a notification, its next poll, the window's slide
or the shutdown. With an ``asyncio.Event`` for its trigger and one for its first sync, and a task waiting on each
of two events while it sleeps, a sleeping mailbox held about 6.5 KB: 65 MB of a node's memory at 10,000
mailboxes. A :class:`Flag` keeps no waiter list until something waits, and :func:`wait_any` sleeps on several
flags and a timeout with one future and one timer (about 1.7 KB a sleeping mailbox).
"""

from __future__ import annotations

import asyncio


class Flag:
    """``is_set``, ``set``, ``clear`` and ``wait`` as :class:`asyncio.Event` has them.

    As with an Event, a waiter woken by :meth:`set` returns even if the flag is cleared before it runs.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: set[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            _wake(waiter)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        await wait_any(None, self)
        return True

    def _watch(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is None:
            self._waiters = set()
        self._waiters.add(waiter)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is not None:
            self._waiters.discard(waiter)
            if not self._waiters:
                self._waiters = None


async def wait_any(seconds: float | None, *flags: Flag) -> None:
    """Return when one of ``flags`` is set, or after ``seconds`` (None: never), whichever comes first."""
    if any(flag.is_set() for flag in flags):
        return
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    for flag in flags:
        flag._watch(waiter)
    timer = loop.call_later(seconds, _wake, waiter) if seconds is not None else None
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()
        for flag in flags:
            flag._forget(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
