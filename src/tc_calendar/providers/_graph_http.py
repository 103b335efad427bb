"""The Microsoft Graph HTTP client of the Graph provider: httpx, one connection pool, per-mailbox politeness.

What it guarantees, and why:

* **Never more than** ``max_concurrency`` (at most 4) requests in flight per mailbox: Exchange Online refuses a
  fifth concurrent request to one mailbox from one app with 429 (``MailboxConcurrency``).
* **Retry-After is honoured per mailbox.** A 429 or 503 for a mailbox blocks that mailbox, and only it, until the
  time Graph asked for: a request for it in the meantime fails at once with :class:`ThrottledError` (the sync
  loop waits on the mailbox's gate) instead of being sent. Other mailboxes go on.
* **JSON batching.** GET requests of different callers that are waiting at the same moment (the sync loops of
  many mailboxes polling together) are sent as one ``POST /$batch`` of up to 20 requests; each answer is handled
  as if it had come alone, so one mailbox's 429 or 403 inside a batch touches no other. A request alone is sent
  as itself.
* **Tokens**: the app's access token (:class:`TokenSource`) goes on every request; a 401 renews it once.

Errors come back as the provider error family (:mod:`tc_calendar.providers._graph_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from tc_calendar.providers._graph_errors import GraphErrorBody, map_error, map_transport_error
from tc_calendar.providers.base import ProviderError, ThrottledError

log = logging.getLogger(__name__)

MAX_CONCURRENCY_PER_MAILBOX = 4
"""Exchange Online's limit of concurrent requests per mailbox and app."""

MAX_BATCH = 20
"""Graph's limit of requests in one JSON batch."""


class TokenSource(Protocol):
    """Where the client gets the app's access token (:class:`tc_calendar.providers.graph_auth.GraphTokenSource`)."""

    async def access_token(self) -> str: ...

    def invalidate(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class GraphRequest:
    """One Graph request: ``url`` relative to the Graph root (``/users/...``) or absolute (a next or delta link)."""

    mailbox: str | None
    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True, slots=True)
class GraphAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any


RequestCounter = Callable[[str, str], None]
"""Called with (operation, result) for every HTTP request sent (metrics)."""


class GraphHttp:
    """Sends Graph requests for many mailboxes of one tenant (see the module docstring)."""

    def __init__(
        self,
        graph_url: str,
        tokens: TokenSource,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        max_concurrency: int = MAX_CONCURRENCY_PER_MAILBOX,
        batch_delay: float = 0.005,
        count: RequestCounter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self._tokens = tokens
        tls: bool | ssl.SSLContext = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        self._client = httpx.AsyncClient(verify=tls, timeout=timeout, transport=transport)
        self._max_concurrency = max(1, min(max_concurrency, MAX_CONCURRENCY_PER_MAILBOX))
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._blocked_until: dict[str, float] = {}
        self._count = count or (lambda operation, result: None)
        self._batch_delay = batch_delay
        self._batching = True
        self._pending: list[tuple[GraphRequest, asyncio.Future[GraphAnswer]]] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        """The most requests ever in flight at once per mailbox (tests check the limit)."""

    # ------------------------------------------------------------------------------------------ public

    async def call(
        self,
        mailbox: str | None,
        operation: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request for ``mailbox`` and return its JSON body (``None`` when empty); Graph's error answers
        raise the mapped :class:`ProviderError`."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        request = GraphRequest(mailbox, operation, method, url, dict(headers or {}), body)
        self._check_blocked(mailbox)
        slot = self._slot(mailbox)
        async with slot:
            self._enter(mailbox)
            try:
                answer = await self._send(request)
                if answer.status == 401:
                    self._tokens.invalidate()
                    answer = await self._send(request)
            except ProviderError:
                raise
            except (httpx.HTTPError, OSError) as exc:
                raise map_transport_error(exc, mailbox=mailbox, graph=self.graph_url) from exc
            finally:
                self._leave(mailbox)
        if answer.status >= 400:
            error = map_error(GraphErrorBody.parse(answer.status, answer.body, answer.headers), mailbox=mailbox,
                              graph=self.graph_url)  # fmt: skip
            if isinstance(error, ThrottledError) and mailbox is not None:
                self._blocked_until[mailbox] = time.monotonic() + error.backoff_seconds
            raise error
        return answer.body

    def throttled_for(self, mailbox: str) -> float:
        """Seconds until ``mailbox`` may be asked again (0 when it is not throttled)."""
        return max(0.0, self._blocked_until.get(mailbox, 0.0) - time.monotonic())

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for _, future in self._pending:
            if not future.done():
                future.set_exception(ProviderError("the Microsoft Graph client is closed"))
        self._pending.clear()
        await self._client.aclose()
        self._tokens.close()

    # ------------------------------------------------------------------------------------------ politeness

    def _check_blocked(self, mailbox: str | None) -> None:
        if mailbox is None:
            return
        wait = self.throttled_for(mailbox)
        if wait > 0:
            raise ThrottledError(
                f"Microsoft Graph asked to wait {wait:.1f}s more before the next request (Retry-After)",
                backoff_seconds=wait,
                mailbox=mailbox,
            )

    def _slot(self, mailbox: str | None) -> asyncio.Semaphore:
        key = mailbox or ""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(self._max_concurrency)
        return slot

    def _enter(self, mailbox: str | None) -> None:
        key = mailbox or ""
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        self.peak_in_flight[key] = max(self.peak_in_flight.get(key, 0), self._in_flight[key])

    def _leave(self, mailbox: str | None) -> None:
        key = mailbox or ""
        self._in_flight[key] -= 1

    # ------------------------------------------------------------------------------------------ sending

    async def _send(self, request: GraphRequest) -> GraphAnswer:
        if request.method != "GET":
            return await self._send_alone(request)
        future: asyncio.Future[GraphAnswer] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if len(self._pending) >= MAX_BATCH:
            self._start_flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(self._batch_delay, self._start_flush)
        return await future

    def _start_flush(self) -> None:
        self._flush_scheduled = False
        while self._pending:
            taken, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            task = asyncio.create_task(self._flush(taken), name="graph-batch")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, taken: list[tuple[GraphRequest, asyncio.Future[GraphAnswer]]]) -> None:
        try:
            if len(taken) == 1 or not self._batching:
                answers = list(await asyncio.gather(*(self._send_alone(request) for request, _ in taken)))
            else:
                answers = await self._send_batch([request for request, _ in taken])
        except BaseException as exc:
            for request, future in taken:
                if not future.done():
                    future.set_exception(map_transport_error(exc, mailbox=request.mailbox, graph=self.graph_url))
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, future), answer in zip(taken, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    def _absolute(self, url: str) -> str:
        return url if url.startswith(("https://", "http://")) else f"{self.graph_url}{url}"

    def _relative(self, url: str) -> str:
        return url[len(self.graph_url) :] if url.startswith(self.graph_url) else url

    async def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._tokens.access_token()}", "Accept": "application/json"}

    async def _send_alone(self, request: GraphRequest) -> GraphAnswer:
        headers = {**await self._headers(), **request.headers}
        response = await self._client.request(
            request.method,
            self._absolute(request.url),
            headers=headers,
            json=request.body if request.body is not None else None,
        )
        self._count(request.operation, _result(response.status_code))
        return GraphAnswer(response.status_code, dict(response.headers), _json(response))

    async def _send_batch(self, requests: list[GraphRequest]) -> list[GraphAnswer]:
        payload = {
            "requests": [
                {"id": str(index), "method": r.method, "url": self._relative(r.url), "headers": dict(r.headers)}
                for index, r in enumerate(requests)
            ]
        }
        response = await self._client.post(f"{self.graph_url}/$batch", headers=await self._headers(), json=payload)
        self._count("batch", _result(response.status_code))
        if response.status_code in (400, 404, 405, 501):
            # A Graph endpoint (a proxy, a sovereign deployment) without JSON batching: send requests alone.
            log.info("Microsoft Graph at %s refused a JSON batch (HTTP %s); sending requests one by one",
                     self.graph_url, response.status_code)  # fmt: skip
            self._batching = False
            return list(await asyncio.gather(*(self._send_alone(request) for request in requests)))
        if response.status_code != 200:  # the batch as a whole failed: every request gets that answer
            whole = GraphAnswer(response.status_code, dict(response.headers), _json(response))
            return [whole for _ in requests]
        by_id = {str(r.get("id")): r for r in (_json(response) or {}).get("responses", [])}
        answers = []
        for index, request in enumerate(requests):
            found = by_id.get(str(index))
            if found is None:
                answers.append(GraphAnswer(503, {}, {"error": {"code": "BatchAnswerMissing", "message": ""}}))
                continue
            answers.append(GraphAnswer(int(found.get("status", 500)), found.get("headers") or {}, found.get("body")))
            self._count(request.operation, _result(answers[-1].status))
        return answers


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    with contextlib.suppress(ValueError):
        return response.json()
    return None


def _result(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (429, 503):
        return "throttled"
    if status in (401, 403):
        return "denied"
    if status in (404, 410):
        return "gone"
    return "error"
