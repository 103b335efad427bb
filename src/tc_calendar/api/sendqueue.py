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
    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._changed = asyncio.Condition()
        self._unfinished = 0

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def _has_room(self, size: int) -> bool:
        if not self._items:
            return True
        return len(self._items) < self._max_messages and self._bytes + size <= self._max_bytes

    async def put(self, item: T, size: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._has_room(size))
            self._items.append((item, size))
            self._bytes += size
            self._unfinished += 1
            self._changed.notify_all()

    async def get(self) -> T:
        """The oldest item; it still counts against the budget until :meth:`done` (it is being written)."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
            return self._items[0][0]

    async def done(self) -> None:
        """The item returned by :meth:`get` was written: free its room."""
        async with self._changed:
            _item, size = self._items.popleft()
            self._bytes -= size
            self._unfinished -= 1
            self._changed.notify_all()

    async def join(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._unfinished == 0)
