"""Telling interested parts of the connector that the change log grew.

Readers (the WebSocket feed) resume from cursors, so a wake-up carries no data and may be lost or repeated: it
only saves a poll interval. This is the one path from a commit to its readers: within one process the store fires
its listeners after each commit that appended entries. Across connector instances sharing one PostgreSQL, every
appending transaction also sends one ``NOTIFY tc_calendar_changes`` naming the store that appended (delivered at
commit, to that store as well), and :class:`PostgresChangeListener` turns those of other stores into the same local
wake-up; a store's own notification is the commit it announced already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tc_calendar.failure_log import FailureLog

log = logging.getLogger(__name__)

CHANNEL = "tc_calendar_changes"
#: The execution option that carries a store's notifier name: the payload of the NOTIFY its appends send.
NOTIFIER_OPTION = "tc_calendar_notifier"
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
FIRST_CONNECT_WAIT = 10.0

ChangeListener = Callable[[], None]
"""Called with no arguments when the change log may have grown; must be quick and must not raise."""


class ChangeListeners:
    """The callbacks to wake, fired in registration order; one failing callback does not stop the others."""

    def __init__(self) -> None:
        self._listeners: list[ChangeListener] = []
        self._woken_through = 0
        """The highest cursor the listeners were woken for: a later wake-up for it or below is a repeat."""

    def add(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def remove(self, listener: ChangeListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def fire(self, through: int | None = None) -> None:
        """Wake the listeners for entries up to cursor ``through``, unless they were woken for it already (a commit
        of this instance is announced both locally and by its own NOTIFY). ``None``: entries unknown, always wake."""
        if through is not None:
            if through <= self._woken_through:
                return
            self._woken_through = through
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("change listener %r failed", listener)


class PostgresChangeListener:
    """Keeps one connection in ``LISTEN tc_calendar_changes`` and fires ``listeners`` on each notification.

    The connection is re-opened after a failure (with a growing delay); listeners are fired after each
    (re)connection too, since notifications sent while disconnected are lost.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        listeners: ChangeListeners,
        connection_turns: asyncio.Semaphore | None = None,
        *,
        own_notifier: str = "",
    ) -> None:
        """``connection_turns``: the store's count of connections its pool can spare; the listening connection takes
        one of them for as long as it is open. ``own_notifier``: the payload of this store's own notifications."""
        self._engine = engine
        self._own_notifier = own_notifier
        self._connection_turns = connection_turns
        self._listeners = listeners
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Start listening; returns once the first LISTEN is in place (or after ``FIRST_CONNECT_WAIT`` seconds)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tc_calendar.store.listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), FIRST_CONNECT_WAIT)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        outage = FailureLog(log, "listening for change-log notifications of other nodes")
        while True:
            try:
                await self._listen_once()
            except Exception as error:  # whatever broke the connection, listen again on a new one
                outage.failed(error)
            else:
                outage.succeeded()
            failures = 0 if self._connected.is_set() else failures + 1
            self._connected.clear()
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])

    async def _listen_once(self) -> None:
        if self._connection_turns is None:
            await self._listen_on_a_connection()
        else:
            async with self._connection_turns:
                await self._listen_on_a_connection()

    async def _listen_on_a_connection(self) -> None:
        lost = asyncio.Event()
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            driver.add_termination_listener(lambda *_: lost.set())
            await driver.add_listener(CHANNEL, self._on_notification)
            try:
                self._connected.set()
                self._listeners.fire()
                await lost.wait()
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._on_notification)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        """asyncpg's listener callback; ``payload`` names the store that appended."""
        if self._own_notifier and payload == self._own_notifier:
            return  # this store's own commit: its listeners were woken for it when it committed
        self._listeners.fire()
