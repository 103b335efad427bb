"""One WebSocket connection: the I/O edge around the pure framing (``jsonrpc``) and the methods.

A connection has one reader (frames in, in order), one writer draining a bounded send queue, and one pump
task per subscription. Every refusal is a JSON-RPC error; fatal ones (see :mod:`errors`) are followed by a
close frame with a specific code and reason. A peer whose send queue stays full for ``slow_client_timeout``
is closed with 4008 and a reason naming the cursor to resume from.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from tc_calendar.api import jsonrpc
from tc_calendar.api.errors import (
    ApiError,
    AuthTimeout,
    Flooding,
    FrameTooLarge,
    InternalError,
    InvalidRequest,
    RateLimited,
    TooManyConnections,
    TooSlow,
)
from tc_calendar.api.feed import ChangeFeed
from tc_calendar.api.limits import AddressSlots, ApiLimits, TokenBucket
from tc_calendar.api.methods import Methods, Session
from tc_calendar.api.sendqueue import SendQueue
from tc_calendar.failure_log import FailureLog

log = logging.getLogger(__name__)

#: How long a caught-up subscription waits for the feed before it looks again anyway. The feed wakes it whenever
#: the log grows, so this is only a safety net; a short one would wake every idle subscription every second.
IDLE_RECHECK = 30.0

#: How long a close frame may wait for a peer that does not read (the keep-alive ping gives up about then too).
CLOSE_WAIT = 45.0


@dataclass(frozen=True, slots=True)
class _Outgoing:
    text: str
    subscription: str | None = None
    cursor: int | None = None


@dataclass
class _Subscription:
    id: str
    users: frozenset[str] | None
    cursor: int
    task: asyncio.Task[None] | None = None
    #: Set once the ``changes.subscribe`` answer is queued: no notification may overtake it.
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class _Closing(Exception):
    """Raised inside a connection's tasks once it is closing because the peer reads too slowly."""


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _reason(text: str) -> str:
    """RFC 6455 allows 123 bytes of close reason."""
    raw = text.encode()[:123]
    return raw.decode(errors="ignore")


class Connection:
    def __init__(
        self, ws: WebSocket, methods: Methods, feed: ChangeFeed, slots: AddressSlots, limits: ApiLimits
    ) -> None:
        self._ws = ws
        self._methods = methods
        self._feed = feed
        self._slots = slots
        self._limits = limits
        self.address = ws.client.host if ws.client else "unknown"
        secure = ws.url.scheme == "wss" or _is_loopback(self.address)
        self.session = Session(address=self.address, secure=secure, subscriptions=self)
        self._queue: SendQueue[_Outgoing] = SendQueue(limits.send_queue_messages, limits.send_queue_bytes)
        self._bucket = TokenBucket(limits.rate_per_second, limits.rate_burst)
        self._flood = 0
        self._subs: dict[str, _Subscription] = {}
        self._sent: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._close: tuple[int, str] | None = None
        self._in_band = True
        self._stop = asyncio.Event()

    # ---- SubscriptionHost ----------------------------------------------------------------------------------
    def start(self, users: frozenset[str] | None, cursor: int) -> str:
        sub = _Subscription(f"s{next(self._ids)}", users, cursor)
        self._subs[sub.id] = sub
        self._sent[sub.id] = cursor
        sub.task = asyncio.create_task(self._pump(sub), name=f"api-pump-{sub.id}")
        return sub.id

    def stop(self, subscription: str) -> int | None:
        sub = self._subs.pop(subscription, None)
        if sub is None:
            return None
        self._sent.pop(subscription, None)
        if sub.task is not None:
            sub.task.cancel()
        return sub.cursor

    def count(self) -> int:
        return len(self._subs)

    # ---- lifecycle -----------------------------------------------------------------------------------------
    async def serve(self) -> None:
        if not self._slots.acquire(self.address):
            log.warning("connection from %s refused: over %d connections from that address",
                        self.address, self._limits.max_connections_per_address)
            await self._ws.accept()
            error = TooManyConnections(
                f"too many connections from {self.address} (at most {self._limits.max_connections_per_address})"
            )
            await self._ws.send_text(jsonrpc.encode(jsonrpc.error_obj(None, error)))
            await self._ws.close(4006, _reason(error.message))
            return
        try:
            await self._ws.accept()
            await self._run()
        finally:
            self._slots.release(self.address)

    async def _run(self) -> None:
        writer = asyncio.create_task(self._write_loop(), name="api-writer")
        reader = asyncio.create_task(self._read_loop(), name="api-reader")
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({writer, reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for sub in list(self._subs.values()):
                if sub.task is not None:
                    sub.task.cancel()
            reader.cancel()
            stopped.cancel()
            if self._close is not None and self._in_band and not writer.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._queue.join(), self._limits.slow_client_timeout)
            writer.cancel()
            await asyncio.gather(writer, reader, stopped, return_exceptions=True)
            if self._close is not None:
                code, reason = self._close
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._ws.close(code, _reason(reason)), CLOSE_WAIT)

    def _fatal(self, code: int, reason: str, *, in_band: bool = True) -> None:
        if self._close is None:
            self._close = (code, reason)
            self._in_band = in_band
        self._stop.set()

    # ---- writing -------------------------------------------------------------------------------------------
    async def _write_loop(self) -> None:
        while True:
            item = await self._queue.get()
            await self._ws.send_text(item.text)
            if item.subscription is not None and item.cursor is not None:
                self._sent[item.subscription] = item.cursor
            self._queue.done()

    def resume_cursor(self) -> int:
        """The cursor a disconnected client should resume from (the lowest of its subscriptions)."""
        return min(self._sent.values(), default=0)

    async def _send(self, item: _Outgoing) -> None:
        if self._queue.offer(item, len(item.text)):  # the usual case: room at once, no timer to set and cancel
            return
        try:
            async with asyncio.timeout(self._limits.slow_client_timeout):
                await self._queue.put(item, len(item.text))
        except TimeoutError:
            error = TooSlow(f"too slow; resume from cursor {self.resume_cursor()}")
            log.warning("closing the connection from %s: %s", self.address, error.message)
            self._fatal(error.close_code or 4008, error.message, in_band=False)
            raise _Closing from None

    async def _send_doc(self, doc: dict[str, Any] | list[dict[str, Any]]) -> None:
        await self._send(_Outgoing(jsonrpc.encode(doc)))

    # ---- subscriptions -------------------------------------------------------------------------------------
    async def _pump(self, sub: _Subscription) -> None:
        with contextlib.suppress(_Closing):
            await self._pump_changes(sub)

    async def _pump_changes(self, sub: _Subscription) -> None:
        limit = self._limits.max_changes_per_notification
        failures = FailureLog(log, f"reading changes for subscription {sub.id} of {self.address}")
        await sub.answered.wait()
        while True:
            try:
                note = await self._feed.next_notification(
                    sub.id, sub.cursor, sub.users, self.session.view, limit, self._limits.max_notification_chars
                )
            except Exception as exc:  # the store is down for a moment: keep the cursor, try again later
                failures.failed(exc)
                await asyncio.sleep(self._limits.poll_interval)
                continue
            failures.succeeded()
            if note.text is not None:
                await self._send(_Outgoing(note.text, sub.id, note.sent))
            sub.cursor = note.cursor
            if not note.more:
                await self._feed.wait_beyond(note.cursor, IDLE_RECHECK)

    # ---- reading -------------------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        with contextlib.suppress(_Closing):
            await self._read_frames()

    async def _read_frames(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.auth_timeout
        while True:
            timeout = None if self.session.principal is not None else deadline - loop.time()
            try:
                if timeout is not None and timeout <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(self._ws.receive(), timeout)
            except TimeoutError:
                error = AuthTimeout(f"not authenticated within {self._limits.auth_timeout:g} s")
                await self._send_doc(jsonrpc.error_obj(None, error))
                self._fatal(error.close_code or 4004, error.message)
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self._send_doc(
                    jsonrpc.error_obj(None, InvalidRequest("binary frames are not accepted; send text"))
                )
                continue
            await self._handle_frame(text)
            if self._close is not None:
                return

    async def _handle_frame(self, text: str) -> None:
        limit = self._limits.max_frame_bytes
        if len(text) > limit or len(text.encode()) > limit:
            await self._send_doc(jsonrpc.error_obj(None, FrameTooLarge(f"frame larger than {limit} bytes")))
            return
        if not self._bucket.take():
            self._flood += 1
            if self._flood > self._limits.flood_close_after:
                error: ApiError = Flooding("message rate far over the limit; closing")
                log.warning("closing the connection from %s: %s", self.address, error.message)
                self._fatal(error.close_code or 4005, error.message, in_band=False)
                return
            wait = round(self._bucket.retry_after(), 3)
            await self._send_doc(
                jsonrpc.error_obj(
                    None, RateLimited(f"over {self._limits.rate_per_second:g} messages/s", {"retryAfter": wait})
                )
            )
            return
        self._flood = 0
        try:
            incoming = jsonrpc.decode(text, max_batch=self._limits.max_batch)
        except ApiError as exc:
            await self._send_doc(jsonrpc.error_obj(None, exc))
            return
        answers: list[dict[str, Any]] = []
        for index, item in enumerate(incoming.items):
            if index and not self._bucket.take():
                answers.append(jsonrpc.error_obj(item.id, RateLimited("batch over the message rate")))
                continue
            answer = await self._dispatch(item)
            if answer is not None:
                answers.append(answer)
            if self._close is not None:
                break
        if answers:
            await self._send_doc(answers if incoming.is_batch else answers[0])
        for sub in self._subs.values():
            sub.answered.set()

    async def _dispatch(self, item: jsonrpc.Item) -> dict[str, Any] | None:
        if isinstance(item, jsonrpc.Invalid):
            return jsonrpc.error_obj(item.id, item.error)
        try:
            result = await self._methods.call(self.session, item.method, item.params)
        except ApiError as exc:
            if exc.close_code is not None:
                self._fatal(exc.close_code, exc.message)
            return None if item.is_notification else jsonrpc.error_obj(item.id, exc)
        except Exception:
            log.exception("method %s failed", item.method)
            error = InternalError(f"{item.method} failed inside the connector; see its log")
            return None if item.is_notification else jsonrpc.error_obj(item.id, error)
        return None if item.is_notification else jsonrpc.result_obj(item.id, result)
