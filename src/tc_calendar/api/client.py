"""A small client for the tc-calendar WebSocket API, on the ``websockets`` library.

Used by the tests, the command line and the benchmarks, and a reference for other clients:

    async with await ApiClient.connect(url, ServerAuth("tcs.example.com#vcs", secret)) as client:
        result = await client.call("calendar.list", {"user": "a@example.com", "start": ..., "end": ...})

    follower = ChangeFollower(url, auth, users="*", cursor=0)
    async for change in follower:      # reconnects and resumes from the last cursor by itself
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tc_calendar.api.auth import compute_proof, compute_server_proof
from tc_calendar.errors import TcCalendarError


@dataclass(frozen=True, slots=True)
class ServerAuth:
    """Sign in as a TrueConf Server: its ID (from ``productWhitelist.tcs``) and the shared secret."""

    server_id: str
    secret: str
    #: Also check that the connector knows the secret (mutual authentication).
    verify_server: bool = True


@dataclass(frozen=True, slots=True)
class WebAuth:
    """Sign in as a web calendar user (``web.users``)."""

    login: str
    password: str


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """Resume a web session with the token ``auth.login`` returned."""

    token: str


Auth = ServerAuth | WebAuth | TokenAuth


class ClientError(TcCalendarError):
    """Base of the client's errors."""


class RpcError(ClientError):
    """The connector answered a call with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data


class Disconnected(ClientError):
    """The connection closed; ``code``/``reason`` are the close frame's (1006 when there was none)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"connection closed: {code} {reason}".strip())
        self.code = code
        self.reason = reason


class ServerNotTrusted(ClientError):
    """The connector's proof of the shared secret was missing or wrong: it may not be the real connector."""


_END = object()


class Subscription:
    """Notifications of one ``changes.subscribe``; iterate to get each ``changes.notify`` params object."""

    def __init__(self, client: ApiClient, subscription_id: str, cursor: int, queue_size: int) -> None:
        self.id = subscription_id
        self.cursor = cursor
        self._client = client
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        #: Notifications that arrived before the subscribe answer (a connector may send them first).
        self.backlog: deque[dict[str, Any]] = deque()
        self.ended = False

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while self.backlog:
            note = self.backlog.popleft()
            self.cursor = int(note["cursor"])
            yield note
        while True:
            if self.ended and self.queue.empty():
                raise self._client.disconnected()
            item = await self.queue.get()
            if item is _END:
                raise self._client.disconnected()
            self.cursor = int(item["cursor"])
            yield item

    async def unsubscribe(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._client.call("changes.unsubscribe", {"subscription": self.id})
        return result


class ApiClient:
    """One connection: calls are matched to answers by id; notifications go to their subscription's queue.

    A subscription's queue is bounded: when the application stops consuming, the client stops reading the
    socket, and the connector sees a slow client (as it should).
    """

    def __init__(self, ws: ClientConnection, *, queue_size: int = 64) -> None:
        self.ws = ws
        self.session: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subs: dict[str, Subscription] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self._queue_size = queue_size
        self._reader = asyncio.create_task(self._read_loop(), name="api-client-reader")

    @classmethod
    async def connect(
        cls,
        url: str,
        auth: Auth | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        open_timeout: float = 10.0,
        queue_size: int = 64,
        max_size: int = 16 * 1024 * 1024,
        max_queue: int = 16,
        sock: socket.socket | None = None,
    ) -> ApiClient:
        """Open a connection and, if ``auth`` is given, authenticate; ``sock`` is a connected socket to use."""
        ws = await connect(
            url,
            sock=sock,
            ssl=ssl_context,
            open_timeout=open_timeout,
            max_size=max_size,
            max_queue=max_queue,
            compression=None,
        )
        client = cls(ws, queue_size=queue_size)
        if auth is not None:
            try:
                await client.authenticate(auth)
            except BaseException:
                await client.close()
                raise
        return client

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader

    def disconnected(self) -> Disconnected:
        rcvd = self.ws.protocol.close_rcvd
        if rcvd is not None:
            return Disconnected(rcvd.code, rcvd.reason)
        return Disconnected(1006, "no close frame")

    async def wait_closed(self) -> Disconnected:
        """Wait until the connector closes the connection; returns the close code and reason."""
        await self.ws.wait_closed()
        return self.disconnected()

    # ---- calls ---------------------------------------------------------------------------------------------
    async def send_raw(self, text: str) -> None:
        """Send a frame as is (tests of malformed input)."""
        await self.ws.send(text)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call ``method``; raises :class:`RpcError` for an error answer, :class:`Disconnected` if the connection
        closes first. Bound the wait with ``asyncio.timeout``: a cancelled call's late answer is ignored."""
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        frame = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": request_id}
        try:
            await self.ws.send(json.dumps(frame))
        except ConnectionClosed:
            self._pending.pop(request_id, None)
            raise self.disconnected() from None
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def authenticate(self, auth: Auth) -> dict[str, Any]:
        result: dict[str, Any]
        if isinstance(auth, ServerAuth):
            nonce = secrets.token_hex(16) if auth.verify_server else None
            hello = await self.call("auth.hello", {"serverId": auth.server_id, "nonce": nonce})
            proof = compute_proof(auth.secret, hello["challenge"], auth.server_id)
            result = await self.call("auth.prove", {"proof": proof})
            if nonce is not None and result.get("serverProof") != compute_server_proof(
                auth.secret, nonce, hello["challenge"]
            ):
                await self.close()
                raise ServerNotTrusted("the connector did not prove the shared secret")
        elif isinstance(auth, WebAuth):
            result = await self.call("auth.login", {"login": auth.login, "password": auth.password})
        else:
            result = await self.call("auth.resume", {"token": auth.token})
        self.session = result
        return result

    async def subscribe(self, users: list[str] | Literal["*"], cursor: int | None = None) -> Subscription:
        params: dict[str, Any] = {"users": users}
        if cursor is not None:
            params["cursor"] = cursor
        result = await self.call("changes.subscribe", params)
        sub = Subscription(self, result["subscription"], result["cursor"], self._queue_size)
        sub.backlog.extend(self._early.pop(sub.id, []))
        self._subs[sub.id] = sub
        return sub

    # ---- reading -------------------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            async for raw in self.ws:
                await self._on_message(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            error = self.disconnected()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)
            self._pending.clear()
            for sub in self._subs.values():
                sub.ended = True
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(_END)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, list):
            for item in message:
                await self._on_message(item)
            return
        if message.get("method") == "changes.notify":
            params = message["params"]
            sub = self._subs.get(params["subscription"])
            if sub is None:  # the notification overtook the subscribe result: keep it for a moment
                self._early.setdefault(params["subscription"], []).append(params)
            else:
                await sub.queue.put(params)
            return
        future = self._pending.pop(message.get("id"), None) if isinstance(message.get("id"), int) else None
        if future is None or future.done():
            return
        if "error" in message:
            error = message["error"]
            future.set_exception(RpcError(error["code"], error["message"], error.get("data")))
        else:
            future.set_result(message.get("result"))


class ChangeFollower:
    """Follow the change feed across disconnects: each change exactly once, in order, resuming by cursor.

    ``cursor`` is the last change handed to the application; ``reconnects`` counts resumed connections.
    Authentication errors are not retried (they would not heal by themselves).
    """

    def __init__(
        self,
        url: str,
        auth: Auth,
        users: list[str] | Literal["*"],
        cursor: int | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
        queue_size: int = 64,
    ) -> None:
        self.url = url
        self.auth = auth
        self.users = users
        self.cursor = cursor
        self.reconnects = 0
        self.last_disconnect: Disconnected | None = None
        self.client: ApiClient | None = None
        self._ssl = ssl_context
        self._delay = retry_delay
        self._max_delay = max_retry_delay
        self._queue_size = queue_size

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        delay = self._delay
        first = True
        while True:
            try:
                client = await ApiClient.connect(
                    self.url, self.auth, ssl_context=self._ssl, queue_size=self._queue_size
                )
            except (OSError, InvalidHandshake, Disconnected, TimeoutError) as exc:
                self.last_disconnect = exc if isinstance(exc, Disconnected) else None
                await asyncio.sleep(delay)
                delay = min(self._max_delay, delay * 2)
                continue
            self.client = client
            if not first:
                self.reconnects += 1
            first = False
            try:
                sub = await client.subscribe(self.users, self.cursor)
                if self.cursor is None:
                    self.cursor = sub.cursor
                delay = self._delay
                async for note in sub:
                    for change in note["changes"]:
                        if self.cursor is not None and change["cursor"] <= self.cursor:
                            continue  # cannot happen with a correct connector; guards the exactly-once promise
                        self.cursor = change["cursor"]
                        yield change
            except Disconnected as exc:
                self.last_disconnect = exc
            finally:
                self.client = None
                await client.close()
