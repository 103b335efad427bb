"""Forwarded headers count only from the proxies listed in ``api.trustedProxies``; the two sign-in back-offs are apart.

An attacker who can reach the API must not choose the address the back-off counts (``X-Forwarded-For``) nor make
plain ws:// look like TLS (``X-Forwarded-Proto``). A password-guessing run on the web sign-in must not lock
TrueConf Server out of ``auth.hello`` from the same address.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from api_harness import SECRET, SERVER_ID, WEB_USERS, running_api
from websockets.asyncio.client import connect

from tc_calendar.api.auth import AuthThrottle, compute_proof
from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.errors import ConfigError
from tc_calendar.store import Store

LOGIN, PASSWORD = next(iter(WEB_USERS.items()))


async def first_answer(url: str, method: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    async with connect(url, additional_headers=headers or {}, compression=None) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        return json.loads(await asyncio.wait_for(ws.recv(), 30))


async def sign_in_as_server(url: str) -> Any:
    async with connect(url, compression=None) as ws:
        hello_request = {"jsonrpc": "2.0", "id": 1, "method": "auth.hello", "params": {"serverId": SERVER_ID}}
        await ws.send(json.dumps(hello_request))
        hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert "result" in hello, hello
        proof = compute_proof(SECRET, hello["result"]["challenge"], SERVER_ID)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "auth.prove", "params": {"proof": proof}}))
        return json.loads(await asyncio.wait_for(ws.recv(), 30))


def non_loopback_address() -> str:
    """An address of this machine that is not loopback (no packet is sent: a UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("this machine has no non-loopback IPv4 address")
        address = str(probe.getsockname()[0])
    if address.startswith("127.") or address == "0.0.0.0":
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


async def test_rotating_x_forwarded_for_does_not_escape_the_sign_in_back_off(api_store: Store) -> None:
    async with running_api(api_store, throttle=AuthThrottle(free_failures=2, base_delay=30.0)) as api:
        codes = []
        for n in range(4):
            reply = await first_answer(
                api.url, "auth.login", {"login": LOGIN, "password": "guess"}, {"X-Forwarded-For": f"198.51.100.{n}"}
            )
            codes.append(reply["error"]["code"])
        assert codes == [-32009, -32009, -32009, -32005]


async def test_forwarded_addresses_count_when_the_peer_is_a_trusted_proxy(api_store: Store) -> None:
    throttle = AuthThrottle(free_failures=0, base_delay=30.0)
    async with running_api(api_store, throttle=throttle, trusted_proxies=("127.0.0.1",)) as api:
        for n in range(2):
            reply = await first_answer(
                api.url, "auth.login", {"login": LOGIN, "password": "guess"},
                {"X-Forwarded-For": f"198.51.100.{n}", "X-Forwarded-Proto": "https"},
            )
            assert reply["error"]["code"] == -32009  # each browser behind the proxy has its own back-off
        assert throttle.retry_after("198.51.100.0") > 0 and throttle.retry_after("127.0.0.1") == 0


async def test_a_password_over_plain_ws_behind_a_trusted_proxy_is_refused_unless_the_proxy_says_https(
    api_store: Store,
) -> None:
    async with running_api(api_store, trusted_proxies=("127.0.0.1",)) as api:
        params = {"login": LOGIN, "password": PASSWORD}
        plain = await first_answer(api.url, "auth.login", params, {"X-Forwarded-For": "198.51.100.7"})
        assert plain["error"]["code"] == -32014
        tls = await first_answer(
            api.url, "auth.login", params, {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        )
        assert tls["result"]["session"] == {"kind": "web", "name": LOGIN}


async def test_x_forwarded_proto_https_from_a_peer_that_is_not_a_trusted_proxy_is_not_tls(
    api_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``api.trustedProxies`` counts: not even uvicorn's own ``FORWARDED_ALLOW_IPS`` widens it."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    host = non_loopback_address()
    async with running_api(api_store, host=host) as api:
        assert api.url.startswith(f"ws://{host}:")
        reply = await first_answer(
            api.url, "auth.login", {"login": LOGIN, "password": PASSWORD}, {"X-Forwarded-Proto": "https"}
        )
        assert reply["error"]["code"] == -32014


async def test_guessing_web_passwords_does_not_lock_trueconf_server_out_of_auth_hello(api_store: Store) -> None:
    async with running_api(api_store, throttle=AuthThrottle(free_failures=2, base_delay=30.0)) as api:
        for _ in range(3):
            await first_answer(api.url, "auth.login", {"login": LOGIN, "password": "guess"})
        locked = await first_answer(api.url, "auth.login", {"login": LOGIN, "password": PASSWORD})
        assert locked["error"]["code"] == -32005
        proved = await sign_in_as_server(api.url)
        assert proved["result"]["session"] == {"kind": "server", "name": SERVER_ID}


def test_trusted_proxies_are_none_by_default_and_must_be_addresses_or_networks(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    provider = {"host": "exchange.example.com", "credentials": [{"login": "svc", "password": box.encrypt("pw")}]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"calendarProviders": [provider]}), encoding="utf-8")
    assert load_settings(path).api.trusted_proxies == []

    proxies = ["127.0.0.1", "10.0.0.0/8"]
    path.write_text(json.dumps({"calendarProviders": [provider], "api": {"trustedProxies": proxies}}))
    assert load_settings(path).api.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]

    path.write_text(json.dumps({"calendarProviders": [provider], "api": {"trustedProxies": ["proxy.example"]}}))
    with pytest.raises(ConfigError, match=r"api.trustedProxies: 'proxy.example' is not an IP address or network"):
        load_settings(path)
