"""A send queue bounded in messages *and* bytes, so one slow peer holds at most ``max_bytes`` of frames.

A message larger than the whole budget is still accepted when the queue is empty (a big ``calendar.list``
answer must go out); otherwise ``put`` waits for room, and the connection decides how long to wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class SendQueue(Generic[T]):
    """Several producers (the reader, one pump per subscription), one consumer (the writer)."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._room = asyncio.Event()
        self._ready = asyncio.Event()
        self._empty = asyncio.Event()
        self._room.set()
        self._empty.set()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def _has_room(self, size: int) -> bool:
        if not self._items:
            return True
        return len(self._items) < self._max_messages and self._bytes + size <= self._max_bytes

    def offer(self, item: T, size: int) -> bool:
        """Queue ``item`` if there is room now; ``False`` if the caller has to wait (:meth:`put`)."""
        if not self._has_room(size):
            return False
        self._append(item, size)
        return True

    async def put(self, item: T, size: int) -> None:
        while not self._has_room(size):
            self._room.clear()
            await self._room.wait()
        self._append(item, size)

    def _append(self, item: T, size: int) -> None:
        self._items.append((item, size))
        self._bytes += size
        self._ready.set()
        self._empty.clear()

    async def get(self) -> T:
        """The oldest item; it still counts against the budget until :meth:`done` (it is being written)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items[0][0]

    def done(self) -> None:
        """The item returned by :meth:`get` was written: free its room."""
        _item, size = self._items.popleft()
        self._bytes -= size
        self._room.set()
        if not self._items:
            self._empty.set()

    async def join(self) -> None:
        """Wait until everything queued has been written."""
        await self._empty.wait()
