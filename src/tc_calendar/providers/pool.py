"""A bounded thread pool for blocking client libraries, one per service account.

exchangelib is synchronous. Running it on the event loop would stall every other mailbox, the API and the
launcher, so each call is handed to a thread. One pool per service account, so mailboxes on one account never
starve mailboxes on another. The EWS provider gives a pool half as many threads again as the account's budget of
requests in flight (``EWSMaxConcurrency``, what Exchange throttling policies count), which its sessions keep per
request (``providers/_ews_session.py``): the extra threads write requests and read answers meanwhile.

Calls wait for a thread in order, except that calls made within :func:`urgent_calls` go first: at a start with
10,000 mailboxes tens of thousands of initial-sync requests queue here, and the incremental sync of a mailbox
that Exchange just reported a change for must not wait behind them. Calls made within :func:`setup_calls`
(subscribing to notifications) wait in a lane of their own that takes turns with the other calls, two for one:
at that start the 10,000 Subscribes are queued at once, and the first reads of the mailboxes must not wait behind
all of them, or no calendar appears until every mailbox is subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


_URGENT = 0
_NORMAL = 1
_SETUP = 2
SETUP_TURNS = 2
"""Setup calls given a thread for each other call while both wait: subscriptions keep ahead of the first reads (a
read takes two or three requests), so most mailboxes are subscribed before their first read and need no catch-up."""
_lane: contextvars.ContextVar[int] = contextvars.ContextVar("pool_lane", default=_NORMAL)


def urgent_calls() -> contextlib.AbstractContextManager[None]:
    """Pool calls made within this block (in this task) take the next free thread before the queued others."""
    return lane(_URGENT)


def setup_calls() -> contextlib.AbstractContextManager[None]:
    """Pool calls made within this block (in this task) take turns with the other queued calls (:data:`SETUP_TURNS`
    for one) instead of queueing among them: thousands of them queued at once slow the others down, never stop them."""
    return lane(_SETUP)


def current_lane() -> int:
    """The lane pool calls made now (in this task) wait in: handed to a worker process with a call made there."""
    return _lane.get()


@contextlib.contextmanager
def lane(value: int) -> Iterator[None]:
    """Pool calls made within this block (in this task) wait in lane ``value`` (a worker process takes the lane
    :func:`current_lane` gave in the connector's)."""
    token = _lane.set(value)
    try:
        yield
    finally:
        _lane.reset(token)


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
        self._busy = 0  # threads given to calls that have not finished
        # The calls waiting for a thread, in order of arrival, by lane (urgent, normal, setup).
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque(), deque())
        self._turns = itertools.count()  # whose turn it is when both normal and setup calls wait

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
            await self._turn(loop)
            try:
                future = self._executor.submit(call)
            except BaseException:
                self._next()
                raise
            # The thread is handed on when the call ends, even if the caller stopped waiting for it.
            future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._next))
            return await asyncio.wrap_future(future, loop=loop)
        finally:
            self._in_flight -= 1

    async def _turn(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until a thread is free for this call: urgent calls first, then normal and setup calls by turns,
        each lane in order of arrival."""
        if self._busy < self.size and not any(self._waiting):
            self._busy += 1
            return
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting[_lane.get()].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # given a thread just as it was cancelled: pass it on
                self._next()
            raise

    def _next(self) -> None:
        """A thread is free: give it to the next call still waiting (see :meth:`_turn` for which)."""
        self._busy -= 1
        urgent, normal, setup = self._waiting
        for lane in (urgent, normal, setup):
            while lane and lane[0].done():  # cancelled while waiting
                lane.popleft()
        if urgent:
            lane = urgent
        elif normal and setup:
            lane = normal if next(self._turns) % (SETUP_TURNS + 1) == 0 else setup
        else:
            lane = normal or setup
        if lane:
            self._busy += 1
            lane.popleft().set_result(None)

    def close(self, wait: bool = False) -> None:
        """Refuse new calls; with ``wait`` block until running calls finish (use from a thread, not the loop)."""
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
