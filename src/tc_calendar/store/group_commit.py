"""Group commit: batches that queue for the single writer's turn are written together, in one transaction.

Writes of occurrences and the change log take turns (one writer at a time on SQLite; one advisory lock on
PostgreSQL, for cursor order). During an initial sync hundreds of mailboxes' batches wait for that turn, and
each transaction costs a dozen awaits and a commit whatever its size: one after another, they made the writer
the limit of the whole sync. Here the first caller leads: it takes every batch waiting behind it (up to a bound)
into one call of ``apply_group``, hands each caller its own outcome, and passes the lead to the next caller still
waiting. A caller alone is written at once, as before. Only under a steady stream may a leader wait a little for
more to join its group (:meth:`GroupCommit._gather`), when the owner asks for it (``max_gather``).

A caller cancelled while it waits is left out of the groups. A caller cancelled while its item is being written
with a group led by another does not stop that write: the item is written whole (a sync batch with its checkpoint),
as if it had committed just before the cancellation. A leader cancelled mid-write undoes the whole group's
transaction, and the others in it are written by the next leader.

Pure asyncio, no database: ``apply_group`` does the writing and returns one outcome per item (a result, or the
exception that item's caller should raise).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

STREAM_GROUPS = 3
"""Groups written back to back, the writer never idle between them, that make a steady stream."""

_LEAD = object()
"""Set as a waiting caller's result: it leads the next group."""


@dataclass(eq=False, slots=True)
class _Entry(Generic[Item]):
    item: Item
    outcome: asyncio.Future[object]
    size: int


class GroupCommit(Generic[Item, Result]):
    """Runs ``apply_group`` on groups of submitted items: at most ``max_items`` items and ``max_size`` in total
    (an item's size is ``size_of(item)``; a single item larger than that still goes, alone)."""

    def __init__(
        self,
        apply_group: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
        *,
        size_of: Callable[[Item], int] = lambda _: 1,
        max_items: int = 100,
        max_size: int = 10_000,
        max_gather: float = 0.0,
        gather_until: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``max_gather``, ``gather_until``: under a steady stream of items, how long at most a leader waits for more to
        join its group, and the group's size that ends the wait (see :meth:`_gather`); 0 seconds never waits.
        ``clock`` times the writes (seconds)."""
        self._apply_group = apply_group
        self._size_of = size_of
        self._max_items = max_items
        self._max_size = max_size
        self._max_gather = max_gather
        self._gather_until = gather_until
        self._clock = clock
        self._enough: asyncio.Event | None = None
        """Set while a leader gathers; set when the group it gathers is large enough."""
        self._waiting: deque[_Entry[Item]] = deque()
        self._leading = False
        self._busy_groups = 0
        """Groups written back to back since the writer was last idle."""
        self._last_write = 0.0
        """Seconds the last group took to write."""

    async def submit(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is waiting); return its result or raise its error."""
        entry = _Entry(item, asyncio.get_running_loop().create_future(), self._size_of(item))
        self._waiting.append(entry)
        if self._enough is not None and len(self._waiting) >= self._gather_until:
            self._enough.set()
        if self._leading:
            try:
                outcome = await entry.outcome
            except asyncio.CancelledError:
                self._withdraw(entry)
                raise
            if outcome is not _LEAD:
                return outcome  # type: ignore[return-value]  # set by _run for this item
            entry.outcome = asyncio.get_running_loop().create_future()  # for its own result now
            await_more = True
        else:
            self._leading = True
            self._busy_groups = 0  # the writer was idle
            await_more = False
        try:
            if await_more:
                try:
                    await self._gather()
                except asyncio.CancelledError:
                    self._waiting.remove(entry)  # not taken yet: the next leader must not take it
                    raise
            await self._run(self._take(entry))
        finally:
            self._pass_lead()
        return entry.outcome.result()  # type: ignore[return-value]

    async def _gather(self) -> None:
        """Under a steady stream (:data:`STREAM_GROUPS` groups written back to back), wait before writing until the
        group has ``gather_until`` items, or for as long as the last group took to write (at most ``max_gather``), so
        that the items arriving meanwhile join it. A writer much quicker than the stream otherwise writes groups of
        two or three, each paying a transaction's fixed cost (an initial sync on PostgreSQL). Not when as many are
        waiting already: the writer is then the limit, and a pause is lost throughput. Not for a burst such as the
        batches of one meeting's attendees, which is written in one or two groups at once."""
        if self._busy_groups < STREAM_GROUPS or len(self._waiting) >= self._gather_until:
            return
        delay = min(self._last_write, self._max_gather)
        if delay <= 0:
            return
        self._enough = asyncio.Event()
        try:
            async with asyncio.timeout(delay):
                await self._enough.wait()
        except TimeoutError:
            pass
        finally:
            self._enough = None

    def _take(self, leader: _Entry[Item]) -> list[_Entry[Item]]:
        """The leader and those waiting behind it, in order, within the bounds."""
        group = [leader]
        self._waiting.remove(leader)
        size = leader.size
        while self._waiting and len(group) < self._max_items:
            entry = self._waiting[0]
            if entry.outcome.done():  # its caller gave up waiting
                self._waiting.popleft()
                continue
            if size + entry.size > self._max_size:
                break
            group.append(self._waiting.popleft())
            size += entry.size
        return group

    async def _run(self, group: list[_Entry[Item]]) -> None:
        started = self._clock()
        try:
            outcomes = await self._apply_group([entry.item for entry in group])
        except asyncio.CancelledError:
            # The leader was cancelled: its own write is undone; the others wait for the next leader.
            self._waiting.extendleft(reversed(group[1:]))
            group[0].outcome.cancel()
            raise
        except Exception as error:  # apply_group failed as a whole: every item in it fails alike
            outcomes = [error] * len(group)
        self._busy_groups += 1
        self._last_write = self._clock() - started
        for entry, outcome in zip(group, outcomes, strict=True):
            if entry.outcome.done():
                continue
            if isinstance(outcome, BaseException):
                entry.outcome.set_exception(outcome)
            else:
                entry.outcome.set_result(outcome)

    def _pass_lead(self) -> None:
        """Hand the lead to the first caller still waiting, or give it up."""
        while self._waiting:
            entry = self._waiting[0]
            if not entry.outcome.done():
                entry.outcome.set_result(_LEAD)
                return
            self._waiting.popleft()
        self._leading = False

    def _withdraw(self, entry: _Entry[Item]) -> None:
        """A waiting caller was cancelled: drop its item; if it had just been given the lead, pass it on."""
        lead = entry.outcome.done() and not entry.outcome.cancelled() and entry.outcome.result() is _LEAD
        if entry in self._waiting:
            self._waiting.remove(entry)
        if lead:
            self._pass_lead()
