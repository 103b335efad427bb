"""Security events reach the log with the peer's address: failed sign-ins, refused servers, back-off and flood closes.

An administrator reading the log after an attack sees who tried what, once per event, and never a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import pytest
from api_harness import WEB_USERS, running_api
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tc_calendar.api.auth import AuthThrottle
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store

LOGIN = next(iter(WEB_USERS))


async def call(url: str, method: str, params: dict[str, object]) -> dict[str, object]:
    async with connect(url, compression=None) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 30)))


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    records = caplog.records
    return [r.getMessage() for r in records if r.name.startswith("tc_calendar.api") and r.levelno >= logging.INFO]


async def test_failed_sign_ins_and_refused_servers_are_logged_once_each_with_the_peer_address(
    api_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    throttle = AuthThrottle(free_failures=1, base_delay=30.0)
    async with running_api(api_store, throttle=throttle) as api:
        await call(api.url, "auth.login", {"login": LOGIN, "password": "guess-one"})
        await call(api.url, "auth.login", {"login": LOGIN, "password": "guess-two"})
        await call(api.url, "auth.login", {"login": LOGIN, "password": "guess-three"})
        await call(api.url, "auth.hello", {"serverId": "intruder.example#vcs"})
    lines = security_lines(caplog)
    assert lines == [
        "sign-in refused from 127.0.0.1 (web login 'admin'): wrong login or password",
        "sign-in refused from 127.0.0.1 (web login 'admin'): wrong login or password",
        "sign-in refused from 127.0.0.1: blocked for 30 s after repeated failures",
        "sign-in refused from 127.0.0.1: server ID 'intruder.example#vcs' is not in productWhitelist.tcs",
    ]
    assert "guess" not in caplog.text


async def test_a_flood_close_is_logged_once_with_the_peer_address(
    api_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    limits = ApiLimits(rate_per_second=1.0, rate_burst=1, flood_close_after=5)
    async with running_api(api_store, limits=limits) as api, connect(api.url, compression=None) as ws:
        frame = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "auth.hello", "params": {}})  # refused, not fatal
        with contextlib.suppress(ConnectionClosed):
            for _ in range(50):
                await ws.send(frame)
        await asyncio.wait_for(ws.wait_closed(), 30)
        assert ws.close_code == 4005
    assert security_lines(caplog) == ["closing the connection from 127.0.0.1: message rate far over the limit; closing"]
