"""Bounds that keep one peer from hurting the others: rates, sizes, counts. Pure, with an injectable clock."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tc_calendar.clocks import Monotonic


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Every limit of the WebSocket API in one place; the defaults are documented in docs/protocol.md."""

    auth_timeout: float = 5.0
    max_frame_bytes: int = 64 * 1024
    #: Frames above this are cut by the WebSocket layer itself (close 1009) before they are buffered whole.
    hard_frame_bytes: int = 1024 * 1024
    max_batch: int = 20
    rate_per_second: float = 20.0
    rate_burst: int = 60
    #: Consecutive rate-limited messages after which the connection is closed as flooding.
    flood_close_after: int = 200
    max_subscriptions: int = 8
    max_connections_per_address: int = 1024
    send_queue_messages: int = 64
    #: Bytes (characters) of frames waiting for one peer; a single bigger frame still goes out alone.
    send_queue_bytes: int = 1024 * 1024
    #: How long the send queue may stay full before the peer is disconnected as too slow.
    slow_client_timeout: float = 10.0
    max_range_days: int = 400
    max_changes_per_notification: int = 200
    max_notification_chars: int = 256 * 1024
    poll_interval: float = 1.0
    session_token_ttl: float = 12 * 3600.0


class TokenBucket:
    """Classic token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, clock: Monotonic = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def take(self, cost: float = 1.0) -> bool:
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        self._refill()
        return max(0.0, (cost - self._tokens) / self._rate)


class AddressSlots:
    """Counts open connections per remote address; ``acquire`` refuses above ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        count = self._open.get(address, 0)
        if count >= self._limit:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count <= 0:
            self._open.pop(address, None)
        else:
            self._open[address] = count

    def count(self, address: str) -> int:
        return self._open.get(address, 0)
