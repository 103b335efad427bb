"""A bounded thread pool for blocking client libraries, one per service account.

exchangelib is synchronous. Running it on the event loop would stall every other mailbox, the API and the
launcher, so each call is handed to a thread. The pool size is the service account's concurrency budget: it
caps how many requests that account has in flight, which is what Exchange throttling policies count
(``EWSMaxConcurrency``), so mailboxes on one account never starve mailboxes on another.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class PoolClosedError(RuntimeError):
    """A call was submitted after :meth:`BlockingPool.close`."""


class BlockingPool:
    """Runs blocking callables in at most ``size`` threads and awaits their results.

    Cancelling the awaiting task does not interrupt the thread (Python cannot); the call runs to its end and its
    result is dropped. Blocking calls therefore must have timeouts of their own (the EWS adapter sets them).
    """

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"pool {name!r}: size must be at least 1, got {size}")
        self.name = name
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"tc-{name}")
        self._closed = False
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Calls submitted and not yet finished (running or waiting for a thread)."""
        return self._in_flight

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` in a pool thread; context variables (log context) are carried over."""
        if self._closed:
            raise PoolClosedError(f"pool {self.name!r} is closed")
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        self._in_flight += 1
        try:
            return await loop.run_in_executor(self._executor, call)
        finally:
            self._in_flight -= 1

    def close(self, wait: bool = False) -> None:
        """Refuse new calls; with ``wait`` block until running calls finish (use from a thread, not the loop)."""
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
