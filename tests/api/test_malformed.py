"""Malformed input gets JSON-RPC errors and the server stays up, with bounded state, whatever the frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from api_harness import SECRET, SERVER_ID, Harness, running_api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tc_calendar.api.auth import compute_proof
from tc_calendar.api.errors import ALL_ERRORS
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store

KNOWN_CODES = {cls.code for cls in ALL_ERRORS}


async def signed_in(url: str) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=None)
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": "h", "method": "auth.hello", "params": {"serverId": SERVER_ID}}))
    challenge = json.loads(await ws.recv())["result"]["challenge"]
    proof = compute_proof(SECRET, challenge, SERVER_ID)
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": "p", "method": "auth.prove", "params": {"proof": proof}}))
    assert "result" in json.loads(await ws.recv())
    return ws


async def answer(ws: ClientConnection, frame: str | bytes) -> Any:
    await ws.send(frame)
    return json.loads(await asyncio.wait_for(ws.recv(), 30))


def error_code(message: Any) -> int:
    assert message["jsonrpc"] == "2.0"
    return int(message["error"]["code"])


async def still_up(url: str) -> None:
    ws = await signed_in(url)
    reply = await answer(ws, json.dumps({"jsonrpc": "2.0", "id": 99, "method": "server.info", "params": {}}))
    assert reply["result"]["protocol"] == 1
    await ws.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", -32700),
        ('{"jsonrpc":"2.0","id":1,"method":"server.info","params":{"x":NaN}}', -32700),
        ('{"jsonrpc":"2.0","id":1,"method":5}', -32600),
        ('{"jsonrpc":"1.0","id":1,"method":"server.info"}', -32600),
        ('{"jsonrpc":"2.0","id":1.5,"method":"server.info"}', -32600),
        ('{"jsonrpc":"2.0","id":1,"method":"server.info","params":[1,2]}', -32600),
        ('{"jsonrpc":"2.0","id":1,"method":"server.info","params":{},"extra":true}', -32600),
        ("[]", -32600),
        ('"just a string"', -32600),
        ("[" * 100 + "]" * 100, -32600),
        ('{"jsonrpc":"2.0","id":1,"method":"no.such.method","params":{}}', -32601),
        ('{"jsonrpc":"2.0","id":1,"method":"calendar.list","params":{"user":[],"start":1,"end":null}}', -32602),
        ('{"jsonrpc":"2.0","id":1,"method":"changes.subscribe","params":{"users":"all"}}', -32602),
        ('{"jsonrpc":"2.0","id":1,"method":"auth.hello","params":{"serverId":"x"}}', -32015),
        (b"\x00\x01binary", -32600),
    ],
)
async def test_a_malformed_frame_gets_its_error_and_the_connection_goes_on(
    api: Harness, frame: str | bytes, code: int
) -> None:
    ws = await signed_in(api.url)
    assert error_code(await answer(ws, frame)) == code
    reply = await answer(ws, json.dumps({"jsonrpc": "2.0", "id": 2, "method": "server.info", "params": {}}))
    assert "result" in reply
    await ws.close()


async def test_a_batch_is_answered_as_an_array_in_order_without_notifications(api: Harness) -> None:
    ws = await signed_in(api.url)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "server.info", "params": {}},
        {"jsonrpc": "2.0", "method": "server.info", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        7,
    ]
    reply = await answer(ws, json.dumps(batch))
    assert [m.get("id") for m in reply] == [1, 2, None]
    assert "result" in reply[0] and error_code(reply[1]) == -32601 and error_code(reply[2]) == -32600
    await ws.close()


async def test_a_notification_gets_no_answer(api: Harness) -> None:
    ws = await signed_in(api.url)
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": "server.info", "params": {}}))
    reply = await answer(ws, json.dumps({"jsonrpc": "2.0", "id": 5, "method": "server.info", "params": {}}))
    assert reply["id"] == 5
    await ws.close()


async def test_an_oversized_frame_gets_32007_and_a_huge_one_closes_1009_and_the_server_stays_up(api: Harness) -> None:
    ws = await signed_in(api.url)
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server.info", "params": {"pad": "x" * 70_000}})
    assert error_code(await answer(ws, big)) == -32007
    await ws.send("x" * (2 * 1024 * 1024))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 30)
    assert ws.close_code == 1009
    await still_up(api.url)


async def test_a_flood_is_rate_limited_then_closed_and_the_server_stays_up(api_store: Store) -> None:
    limits = ApiLimits(rate_per_second=0.001, rate_burst=10, flood_close_after=50)  # no refill during the test
    async with running_api(api_store, limits=limits) as api:
        ws = await signed_in(api.url)
        frame = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server.info", "params": {}})
        codes: list[int] = []
        with pytest.raises(ConnectionClosed):
            for _ in range(500):
                await ws.send(frame)
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                codes.append(error_code(message) if "error" in message else 0)
        assert ws.close_code == 4005
        allowed = 10 - 2  # the burst, less the two sign-in frames
        assert codes[:allowed] == [0] * allowed and set(codes[allowed:]) == {-32005} and len(codes) == allowed + 50
        await still_up(api.url)


frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=100),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    ).map(json.dumps),
    st.fixed_dictionaries(
        {"jsonrpc": st.sampled_from(["2.0", "1.0"]), "id": st.integers() | st.text(max_size=5)},
        optional={
            "method": st.sampled_from(
                ["calendar.list", "calendar.get", "changes.subscribe", "changes.unsubscribe", "users.list", "x"]
            ),
            "params": st.dictionaries(
                st.sampled_from(["user", "start", "end", "uid", "users", "cursor", "subscription", "recurrenceId"]),
                st.none() | st.integers() | st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=3),
            ),
        },
    ).map(json.dumps),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=8))
async def test_random_frames_get_well_formed_answers_and_never_take_the_server_down(
    fuzz_api: Harness, batch: list[str | bytes]
) -> None:
    ws = await signed_in(fuzz_api.url)
    try:
        for frame in batch:
            await ws.send(frame)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": "end", "method": "server.info", "params": {}}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            for item in message if isinstance(message, list) else [message]:
                if item.get("method") == "changes.notify":
                    continue
                assert item["jsonrpc"] == "2.0" and ("result" in item) != ("error" in item)
                if "error" in item:
                    assert item["error"]["code"] in KNOWN_CODES, item
            if isinstance(message, dict) and message.get("id") == "end":
                break
    except ConnectionClosed:
        assert ws.close_code is not None and 4000 <= ws.close_code < 5000  # a fatal refusal, by design
    finally:
        await ws.close()
    await still_up(fuzz_api.url)


@pytest.fixture
async def fuzz_api(api_store: Store) -> Any:
    limits = ApiLimits(rate_per_second=100_000, rate_burst=100_000)
    async with running_api(api_store, limits=limits) as harness:
        yield harness
        for _ in range(500):  # the last example's connection may still be closing on a busy machine
            if not harness.app.state.api.connections:
                break
            await asyncio.sleep(0.02)
        assert not harness.app.state.api.connections  # nothing left behind per connection
        assert harness.app.state.api.slots.count("127.0.0.1") == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=4))
async def test_random_frames_before_authentication_are_refused_and_never_take_the_server_down(
    pre_auth_api: Harness, batch: list[str | bytes]
) -> None:
    ws = await connect(pre_auth_api.url, compression=None)
    call = json.dumps({"jsonrpc": "2.0", "id": "c", "method": "server.info", "params": {}})
    try:
        for frame in [*batch, call]:  # the call before authentication ends the example with 4001 at the latest
            await ws.send(frame)
        while True:  # errors for what is not a request, then the close for the first call
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            for item in message if isinstance(message, list) else [message]:
                assert item["error"]["code"] in KNOWN_CODES
    except ConnectionClosed:
        pass
    finally:
        await ws.close()
    assert ws.close_code is not None and 4000 <= ws.close_code < 5000
    await still_up(pre_auth_api.url)


@pytest.fixture
async def pre_auth_api(api_store: Store) -> Any:
    limits = ApiLimits(rate_per_second=100_000, rate_burst=100_000)
    async with running_api(api_store, limits=limits) as harness:
        yield harness


async def test_a_call_can_time_out_on_the_client_side(api: Harness) -> None:
    from tc_calendar.api.client import ApiClient

    async with await ApiClient.connect(api.url, api.auth) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0):
                await client.call("server.info")
        assert (await client.call("users.list")) == {"users": []}  # the late answer went nowhere


@pytest.mark.parametrize("frame", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 20000])
async def test_a_deeply_nested_frame_is_an_invalid_request_that_names_the_depth_limit(api: Harness, frame: str) -> None:
    ws = await signed_in(api.url)
    reply = await answer(ws, frame)
    assert reply["id"] is None
    assert error_code(reply) == -32600
    assert reply["error"]["message"] == "nesting deeper than 32 levels"
    await ws.close()
    await still_up(api.url)
