"""How long to wait after a failure: the one back-off policy, and a gate shared by one service account.

Every retry loop of the connector (a mailbox's sync, a notification stream, the EWS streaming connection, a
conference launch) waits :meth:`BackoffPolicy.delay`; what differs between them is only the numbers of their
policy object. A wait the server asked for (EWS ``BackOffMilliseconds``, Graph ``Retry-After``) is passed as
``asked`` and honoured as given.

Throttling in Exchange is per service account (EWS throttling policy budgets are charged to the caller), so
when one mailbox's request gets ``ErrorServerBusy`` every mailbox on that account waits the server's
``BackOffMilliseconds``: the :class:`ThrottleGate` holds that deadline. Other failures (5xx, broken
connections) back off exponentially with jitter, so thousands of mailboxes do not retry in lock-step.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """``base * 2**(failures-1)`` seconds, capped at ``cap``, times a random factor in ``[1-jitter, 1]``."""

    base: float = 1.0
    cap: float = 300.0
    jitter: float = 0.5

    def delay(self, failures: int, rand: Callable[[], float] = random.random, *, asked: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th failure in a row; ``asked``: the server said how long."""
        if asked is not None:
            return max(0.0, asked)
        if failures <= 0:
            return 0.0
        raw = min(self.cap, self.base * 2.0 ** (failures - 1))
        return float(raw * (1 - self.jitter * rand()))


#: Reconnecting a notification stream: the EWS provider's reconnects of its streaming connection and the engine's
#: restarts of a provider's stream that gave up (:class:`tc_calendar.engine.streaming.NotificationHub`).
STREAM_RETRY = BackoffPolicy(base=1.0, cap=300.0)


class ThrottleGate:
    """A not-before time that every caller of one service account waits for."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._not_before = 0.0

    def hold(self, seconds: float) -> None:
        """Extend the pause to at least ``seconds`` from now (never shortens a longer pause)."""
        self._not_before = max(self._not_before, self._monotonic() + max(0.0, seconds))

    @property
    def remaining(self) -> float:
        return max(0.0, self._not_before - self._monotonic())

    async def wait(self) -> None:
        """Sleep until the pause is over; a pause extended while sleeping is honoured too."""
        # A deadline that may move later while we sleep, not a condition someone signals: sleep is the tool.
        while (left := self.remaining) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)
