"""Faults, throttling and request counters, switchable at run time.

The world only holds settings and counts; the protocol layer applies them per request::

    with world.gate.request("FindItem", account_login) as ticket:   # may raise HttpFault or ServerBusy
        time.sleep(ticket.delay_seconds)                              # injected latency
        ...
        ticket.outcome = "NoError"                                    # or the ResponseCode sent back

Counters are kept by operation and by outcome ("NoError", "ErrorServerBusy", "HTTP 503", ...).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ews_sim.world.errors import EwsError, HttpFault, ServerBusy

#: Exchange's default EWSMaxConcurrency throttling policy value.
DEFAULT_MAX_CONCURRENCY = 27
DEFAULT_BACKOFF_MS = 5000


@dataclass
class Ticket:
    """One admitted request. Set ``outcome`` before the ``with`` block ends; exceptions set it themselves."""

    operation: str
    account: str | None
    delay_seconds: float = 0.0
    outcome: str = "NoError"


@dataclass
class _BusyRule:
    remaining: int | None  # None: until cleared
    backoff_ms: int
    account: str | None  # None: every account
    operation: str | None = None  # None: every operation


@dataclass
class _HttpRule:
    status: int
    remaining: int
    operation: str | None = None  # None: every operation


@dataclass
class _ErrorRule:
    response_code: str
    remaining: int
    operation: str | None = None  # None: every operation
    message: str | None = None


class InjectedError(EwsError):
    """An error ResponseMessage switched on through :meth:`Gate.fail_ews` (any ResponseCode Exchange can send)."""

    def __init__(self, response_code: str, message: str | None = None) -> None:
        super().__init__(message or f"An internal server error occurred ({response_code}). The operation failed.")
        self.response_code = response_code


@dataclass
class FaultSettings:
    """A JSON-friendly view of what is switched on."""

    latency_ms: int = 0
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    http_errors: list[dict[str, Any]] = field(default_factory=list)  # [{"status": 503, "remaining": 2}]
    server_busy: list[dict[str, Any]] = field(default_factory=list)
    ews_errors: list[dict[str, Any]] = field(default_factory=list)  # [{"response_code": ..., "remaining": 2}]


class Gate:
    """Per-request admission: injected HTTP errors, ErrorServerBusy, the concurrency budget, latency, counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency_ms = 0
        self.max_concurrency = DEFAULT_MAX_CONCURRENCY
        self._http: list[_HttpRule] = []
        self._busy: list[_BusyRule] = []
        self._errors: list[_ErrorRule] = []
        self._in_flight: Counter[str] = Counter()
        self._counters: defaultdict[str, Counter[str]] = defaultdict(Counter)

    # -- switches -------------------------------------------------------------------------------------------

    def fail_http(self, status: int, count: int = 1, operation: str | None = None) -> None:
        """Answer the next ``count`` requests (of one EWS ``operation``, or any) with a bare HTTP ``status``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._http.append(_HttpRule(status, count, operation))

    def server_busy(
        self,
        count: int | None = 1,
        backoff_ms: int = DEFAULT_BACKOFF_MS,
        account: str | None = None,
        operation: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (of ``account`` and/or ``operation``, or any) with ErrorServerBusy.

        ``count=None`` keeps answering busy until :meth:`clear`.
        """
        with self._lock:
            self._busy.append(_BusyRule(count, backoff_ms, account, operation))

    def fail_ews(
        self,
        response_code: str = "ErrorInternalServerError",
        count: int = 1,
        operation: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (of one EWS ``operation``, or any) with an error ResponseMessage.

        As Exchange reports a failure inside the server (``ErrorInternalServerError``, a store that did not
        answer): HTTP 200 with ``ResponseClass="Error"`` and ``response_code``, after authentication and
        impersonation were checked, instead of running the operation.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._errors.append(_ErrorRule(response_code, count, operation, message))

    def injected_error(self, operation: str) -> None:
        """Raise the :class:`InjectedError` switched on for ``operation``, if any (consumes one of its count)."""
        with self._lock:
            for rule in self._errors:
                if rule.operation is not None and rule.operation != operation:
                    continue
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._errors.remove(rule)
                raise InjectedError(rule.response_code, rule.message)

    def set_latency(self, ms: int) -> None:
        self.latency_ms = max(0, ms)

    def set_max_concurrency(self, limit: int) -> None:
        self.max_concurrency = limit

    def clear(self) -> None:
        """Switch off every injected fault and restore the default budget (counters are kept)."""
        with self._lock:
            self._http.clear()
            self._busy.clear()
            self._errors.clear()
            self.latency_ms = 0
            self.max_concurrency = DEFAULT_MAX_CONCURRENCY

    def settings(self) -> FaultSettings:
        def http(rule: _HttpRule) -> dict[str, Any]:
            out: dict[str, Any] = {"status": rule.status, "remaining": rule.remaining}
            if rule.operation is not None:
                out["operation"] = rule.operation
            return out

        def busy(rule: _BusyRule) -> dict[str, Any]:
            out: dict[str, Any] = {"remaining": rule.remaining, "backoff_ms": rule.backoff_ms, "account": rule.account}
            if rule.operation is not None:
                out["operation"] = rule.operation
            return out

        def error(rule: _ErrorRule) -> dict[str, Any]:
            out: dict[str, Any] = {"response_code": rule.response_code, "remaining": rule.remaining}
            if rule.operation is not None:
                out["operation"] = rule.operation
            return out

        with self._lock:
            return FaultSettings(
                latency_ms=self.latency_ms,
                max_concurrency=self.max_concurrency,
                http_errors=[http(r) for r in self._http],
                server_busy=[busy(b) for b in self._busy],
                ews_errors=[error(r) for r in self._errors],
            )

    # -- admission ------------------------------------------------------------------------------------------

    def admit(self, operation: str, account: str | None) -> Ticket:
        """Admit a request or raise :class:`HttpFault`/:class:`ServerBusy` (already counted). Pair with release."""
        with self._lock:
            for http in self._http:
                if http.operation is not None and http.operation != operation:
                    continue
                http.remaining -= 1
                if http.remaining <= 0:
                    self._http.remove(http)
                self._counters[operation][f"HTTP {http.status}"] += 1
                raise HttpFault(http.status)
            for rule in self._busy:
                if rule.account is not None and rule.account != account:
                    continue
                if rule.operation is not None and rule.operation != operation:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._busy.remove(rule)
                self._counters[operation][ServerBusy.response_code] += 1
                raise ServerBusy(rule.backoff_ms)
            key = account or ""
            if self._in_flight[key] >= self.max_concurrency:
                self._counters[operation][ServerBusy.response_code] += 1
                raise ServerBusy(DEFAULT_BACKOFF_MS)
            self._in_flight[key] += 1
            return Ticket(operation, account, self.latency_ms / 1000.0)

    def release(self, ticket: Ticket) -> None:
        """End an admitted request: free its concurrency slot and count its outcome."""
        with self._lock:
            key = ticket.account or ""
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]
            self._counters[ticket.operation][ticket.outcome] += 1

    @contextmanager
    def request(self, operation: str, account: str | None) -> Iterator[Ticket]:
        """``admit`` + ``release``; an :class:`EwsError` escaping the block is counted under its ResponseCode."""
        ticket = self.admit(operation, account)
        try:
            yield ticket
        except EwsError as exc:
            ticket.outcome = exc.response_code
            raise
        except BaseException:
            ticket.outcome = "ErrorInternalServerError"
            raise
        finally:
            self.release(ticket)

    def in_flight(self, account: str | None) -> int:
        with self._lock:
            return self._in_flight[account or ""]

    # -- counters -------------------------------------------------------------------------------------------

    def count(self, operation: str, outcome: str) -> None:
        """Count a request that bypassed admit (e.g. rejected before the operation was known)."""
        with self._lock:
            self._counters[operation][outcome] += 1

    def counters(self) -> dict[str, dict[str, int]]:
        """``{operation: {outcome: n}}``, plus ``"total"`` per operation."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for op, by_outcome in sorted(self._counters.items()):
                row = dict(sorted(by_outcome.items()))
                row["total"] = sum(by_outcome.values())
                out[op] = row
            return out

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.clear()
