"""Who may connect: accepted peers, and refused ones each get their specific error and a closed socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from api_harness import OTHER_SECRET, OTHER_SERVER_ID, SECRET, SERVER_ID, WEB_USERS, Harness, running_api

from tc_calendar.api import errors
from tc_calendar.api.auth import AuthThrottle, compute_proof
from tc_calendar.api.client import ApiClient, Disconnected, RpcError, ServerAuth, TokenAuth, WebAuth
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store


async def refused(client: ApiClient, method: str, params: dict[str, object]) -> tuple[RpcError, Disconnected]:
    with pytest.raises(RpcError) as raised:
        await client.call(method, params)
    closed = await asyncio.wait_for(client.wait_closed(), 30)
    return raised.value, closed


async def test_a_whitelisted_server_with_the_right_secret_is_accepted_and_the_connector_proves_itself(
    api: Harness,
) -> None:
    async with await ApiClient.connect(api.url, ServerAuth(SERVER_ID, SECRET, verify_server=True)) as client:
        assert client.session is not None
        assert client.session["session"] == {"kind": "server", "name": SERVER_ID}
        info = await client.call("server.info")
        assert info["protocol"] == 1 and info["name"] == "tc-calendar-test"


async def test_a_server_with_its_own_secret_uses_it_and_not_the_global_one(api: Harness) -> None:
    async with await ApiClient.connect(api.url, ServerAuth(OTHER_SERVER_ID, OTHER_SECRET)) as client:
        assert client.session is not None
    client = await ApiClient.connect(api.url)
    hello = await client.call("auth.hello", {"serverId": OTHER_SERVER_ID})
    error, closed = await refused(
        client, "auth.prove", {"proof": compute_proof(SECRET, hello["challenge"], OTHER_SERVER_ID)}
    )
    assert error.code == errors.BadProof.code and closed.code == 4003
    await client.close()


async def test_an_unknown_server_id_is_refused_with_32002_and_close_4002(api: Harness) -> None:
    client = await ApiClient.connect(api.url)
    error, closed = await refused(client, "auth.hello", {"serverId": "intruder.example.com#vcs"})
    assert error.code == -32002 and "productWhitelist" in error.message
    assert closed.code == 4002
    await client.close()


async def test_a_wrong_secret_is_refused_with_32003_and_close_4003(api: Harness) -> None:
    client = await ApiClient.connect(api.url)
    hello = await client.call("auth.hello", {"serverId": SERVER_ID})
    error, closed = await refused(
        client, "auth.prove", {"proof": compute_proof("wrong", hello["challenge"], SERVER_ID)}
    )
    assert error.code == -32003 and closed.code == 4003
    await client.close()


async def test_a_call_before_authentication_is_refused_with_32001_and_close_4001(api: Harness) -> None:
    client = await ApiClient.connect(api.url)
    error, closed = await refused(client, "calendar.list", {"user": "a@example.com", "start": "x", "end": "y"})
    assert error.code == -32001 and closed.code == 4001
    await client.close()


async def test_a_silent_peer_is_closed_with_32004_after_the_auth_timeout(api_store: Store) -> None:
    async with running_api(api_store, limits=ApiLimits(auth_timeout=0.3)) as api:
        client = await ApiClient.connect(api.url)
        closed = await asyncio.wait_for(client.wait_closed(), 30)
        assert closed.code == 4004 and "not authenticated within" in closed.reason
        await client.close()


async def test_the_auth_timeout_error_is_sent_before_the_close(api_store: Store) -> None:
    from websockets.asyncio.client import connect

    async with running_api(api_store, limits=ApiLimits(auth_timeout=0.2)) as api, connect(api.url) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert message["error"]["code"] == -32004 and message["id"] is None


async def test_repeated_failures_from_one_address_are_refused_for_a_while(api_store: Store) -> None:
    throttle = AuthThrottle(free_failures=2, base_delay=30.0)
    async with running_api(api_store, server_throttle=throttle) as api:
        for _ in range(3):
            client = await ApiClient.connect(api.url)
            error, _closed = await refused(client, "auth.hello", {"serverId": "nope#vcs"})
            assert error.code == -32002
            await client.close()
        client = await ApiClient.connect(api.url)
        error, closed = await refused(client, "auth.hello", {"serverId": SERVER_ID})
        assert error.code == -32005 and closed.code == 4005
        assert isinstance(error.data, dict) and 0 < error.data["retryAfter"] <= 30
        await client.close()


async def test_a_web_user_signs_in_with_a_password_and_resumes_with_the_token(api: Harness) -> None:
    login, password = next(iter(WEB_USERS.items()))
    async with await ApiClient.connect(api.url, WebAuth(login, password)) as client:
        assert client.session is not None
        token = client.session["token"]
        assert client.session["session"] == {"kind": "web", "name": login}
        assert (await client.call("users.list"))["users"] == []
    async with await ApiClient.connect(api.url, TokenAuth(token)) as client:
        assert client.session is not None and client.session["session"]["name"] == login


async def test_a_wrong_password_and_a_forged_token_get_the_same_error(api: Harness) -> None:
    for auth in (WebAuth("admin", "guess"), WebAuth("nobody", "guess"), TokenAuth("e30.AAAA")):
        with pytest.raises(RpcError) as raised:
            await ApiClient.connect(api.url, auth)
        assert raised.value.code == -32009


async def test_too_many_connections_from_one_address_are_refused(api_store: Store) -> None:
    async with running_api(api_store, limits=ApiLimits(max_connections_per_address=2)) as api:
        first = await ApiClient.connect(api.url, ServerAuth(SERVER_ID, SECRET))
        second = await ApiClient.connect(api.url, ServerAuth(SERVER_ID, SECRET))
        third = await ApiClient.connect(api.url)
        closed = await asyncio.wait_for(third.wait_closed(), 30)
        assert closed.code == 4006
        for client in (first, second, third):
            await client.close()
        again = await ApiClient.connect(api.url, ServerAuth(SERVER_ID, SECRET))
        await again.close()


async def test_the_generated_secret_is_kept_in_the_store_across_restarts(api_store: Store, tmp_path: Path) -> None:
    from tc_calendar.api.secret import ensure_api_secret, read_api_secret
    from tc_calendar.crypto import SecretBox

    box = SecretBox.load_or_create(tmp_path / "calendar.key")
    generated = await ensure_api_secret(api_store, None, box)
    assert generated.source == "generated"
    assert await read_api_secret(api_store, None, box) == generated.value
    assert (await ensure_api_secret(api_store, None, box)).value == generated.value
