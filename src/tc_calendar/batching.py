"""Gathering calls made at the same moment into one: many tasks ask, one call answers them all.

Hundreds of conferences may start in the same second, each in its own task. Each claim or note written alone would
be a store transaction of its own, one after the other; :class:`Batch` lets the tasks that ask in the same turn
of the event loop (and those that ask while a call is running) share one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item", bound=Hashable)
Answer = TypeVar("Answer")


class Batch(Generic[Item, Answer]):
    """``await batch.ask(item)``: ``call`` runs on every item asked meanwhile and answers each.

    An item ``call`` leaves out of its answer gets ``missing``; when ``call`` raises, every asker of that call
    gets the exception.
    """

    def __init__(self, call: Callable[[Sequence[Item]], Awaitable[Mapping[Item, Answer]]], missing: Answer) -> None:
        self._call = call
        self._missing = missing
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._running: asyncio.Task[None] | None = None

    async def ask(self, item: Item) -> Answer:
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._running is None:
            self._running = asyncio.create_task(self._answer_all())
        return await answer

    async def _answer_all(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the other tasks woken in this turn ask too
                waiting, self._waiting = self._waiting, []
                try:
                    answers = await self._call([item for item, _ in waiting])
                except asyncio.CancelledError:
                    for _, answer in waiting:
                        answer.cancel()
                    raise
                except Exception as error:
                    for _, answer in waiting:
                        if not answer.done():
                            answer.set_exception(error)
                    continue
                for item, answer in waiting:
                    if not answer.done():
                        answer.set_result(answers.get(item, self._missing))
        finally:
            self._running = None
            for _, answer in self._waiting:  # cancelled while items waited: they are not answered
                if not answer.done():
                    answer.cancel()
            self._waiting = []
