"""Back-off: exponential with jitter for failures, and one throttle gate per service account."""

from __future__ import annotations

import asyncio
import time

from tc_calendar.backoff import BackoffPolicy, ThrottleGate


def test_delay_doubles_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    policy = BackoffPolicy(base=1.0, cap=10.0, jitter=0.5)

    assert [policy.delay(n, rand=lambda: 0.0) for n in range(6)] == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert policy.delay(3, rand=lambda: 1.0) == 2.0


def test_the_gate_keeps_the_longest_pause() -> None:
    now = [100.0]
    gate = ThrottleGate(monotonic=lambda: now[0])

    gate.hold(5.0)
    gate.hold(1.0)

    assert gate.remaining == 5.0
    now[0] += 4.0
    assert gate.remaining == 1.0


async def test_waiting_at_the_gate_takes_the_server_back_off() -> None:
    gate = ThrottleGate()
    gate.hold(0.2)

    started = time.monotonic()
    await asyncio.wait_for(gate.wait(), 2)

    assert time.monotonic() - started >= 0.19


def test_a_wait_the_server_asked_for_is_honoured_as_given() -> None:
    """EWS ``BackOffMilliseconds`` and Graph ``Retry-After`` decide the wait, whatever the failure count."""
    policy = BackoffPolicy(base=1.0, cap=10.0, jitter=0.5)
    assert policy.delay(1, asked=42.0) == 42.0
    assert policy.delay(9, asked=0.25) == 0.25
    assert policy.delay(3, asked=-1.0) == 0.0
