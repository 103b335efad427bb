"""Per-request admission for Graph: injected faults, throttling, the mailbox concurrency limit, latency, counters.

Exchange Online limits an app to 4 concurrent requests per mailbox; one more is 429 ``ApplicationThrottled``
("MailboxConcurrency") with ``Retry-After``. Faults injected through the control API answer the next requests
(optionally of one mailbox) with 429 ``TooManyRequests`` + ``Retry-After`` or another HTTP status with Graph's
error body. Counters are kept by operation and outcome, and by mailbox.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from graph_sim.errors import GraphError, throttled

#: Exchange Online's concurrency limit per app and mailbox.
DEFAULT_MAILBOX_CONCURRENCY = 4
_STATUS_CODES = {
    400: ("BadRequest", "The request is not valid."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ResourceNotFound", "Resource could not be discovered."),
    500: ("InternalServerError", "An internal server error occurred. The operation failed."),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The server did not receive a timely response from an upstream server."),
}


@dataclass
class FaultRule:
    status: int
    remaining: int | None  # None: until cleared
    retry_after: int | None
    mailbox: str | None
    operation: str | None
    code: str
    message: str


class GraphGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.max_concurrency = DEFAULT_MAILBOX_CONCURRENCY
        self.latency_ms = 0
        self._rules: list[FaultRule] = []
        self._in_flight: Counter[tuple[str, str]] = Counter()
        self._counters: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._by_mailbox: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._http_requests = 0

    # -- switches -------------------------------------------------------------------------------------------

    def add_fault(
        self,
        status: int,
        count: int | None = 1,
        *,
        retry_after: int | None = None,
        mailbox: str | None = None,
        operation: str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (None: until cleared), of ``mailbox``/``operation`` or any."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        default_code, default_message = _STATUS_CODES.get(status, ("UnknownError", f"HTTP {status}"))
        if status == 429:
            default_code, default_message = "TooManyRequests", "Too many requests. Retry after the given time."
        with self._lock:
            self._rules.append(
                FaultRule(
                    status,
                    count,
                    retry_after,
                    mailbox.lower() if mailbox else None,
                    operation,
                    code or default_code,
                    message or default_message,
                )
            )

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency_ms = 0
            self.max_concurrency = DEFAULT_MAILBOX_CONCURRENCY

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": self.latency_ms,
                "max_concurrency": self.max_concurrency,
                "faults": [asdict(r) for r in self._rules],
            }

    # -- admission ----------------------------------------------------------------------------------------------

    def admit(self, operation: str, app: str, mailbox: str | None) -> tuple[str, str] | None:
        """Raise the GraphError of a matching fault or of the concurrency limit; else take a slot (release it)."""
        with self._lock:
            if mailbox is not None:
                self._by_mailbox[mailbox][operation] += 1
            fault = self._take_fault(operation, mailbox)
            if fault is not None:
                self._counters[operation][str(fault.status)] += 1
                raise fault
            if mailbox is None:
                return None
            slot = (app, mailbox)
            if self._in_flight[slot] >= self.max_concurrency:
                self._counters[operation]["429"] += 1
                raise throttled(1)
            self._in_flight[slot] += 1
            return slot

    def fault(self, operation: str, mailbox: str | None) -> None:
        """Raise the GraphError of a matching fault, uncounted: for a handler that counts its own answers (the
        subscriptions endpoint, whose mailbox is known only from the request body)."""
        with self._lock:
            fault = self._take_fault(operation, mailbox)
        if fault is not None:
            raise fault

    def _take_fault(self, operation: str, mailbox: str | None) -> GraphError | None:
        """The error of the first fault rule matching the request (using up one of its count), if any."""
        for rule in self._rules:
            if rule.mailbox is not None and rule.mailbox != mailbox:
                continue
            if rule.operation is not None and rule.operation != operation:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            return GraphError(rule.status, rule.code, rule.message, headers)
        return None

    def release(self, slot: tuple[str, str] | None, operation: str, outcome: str) -> None:
        with self._lock:
            if slot is not None:
                self._in_flight[slot] -= 1
                if self._in_flight[slot] <= 0:
                    del self._in_flight[slot]
            self._counters[operation][outcome] += 1

    def count(self, operation: str, outcome: str) -> None:
        with self._lock:
            self._counters[operation][outcome] += 1

    def count_http_request(self) -> None:
        with self._lock:
            self._http_requests += 1

    def counters(self) -> dict[str, Any]:
        """``{"operations": {op: {outcome: n, "total": n}}, "mailboxes": {smtp: {op: n, "total": n}},
        "http_requests": n}`` (a $batch is one HTTP request; its parts are counted as operations)."""
        with self._lock:
            ops: dict[str, dict[str, int]] = {}
            for op, by_outcome in sorted(self._counters.items()):
                row = dict(sorted(by_outcome.items()))
                row["total"] = sum(by_outcome.values())
                ops[op] = row
            boxes: dict[str, dict[str, int]] = {}
            for smtp, by_op in sorted(self._by_mailbox.items()):
                row = dict(sorted(by_op.items()))
                row["total"] = sum(by_op.values())
                boxes[smtp] = row
            return {"operations": ops, "mailboxes": boxes, "http_requests": self._http_requests}

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.clear()
            self._by_mailbox.clear()
            self._http_requests = 0
