"""The REST client against the TrueConf Server simulator, over a real socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from trueconf_support import ClientFactory, ManualClock, write_tls_files

from tc_calendar.config import TrueConfSettings
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfError,
    TrueConfRequestError,
    TrueConfUnavailableError,
)
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SECRET_KEY, seed_world
from tcs_sim.state import World

CID = "5576502892"
VERSIONS = ["v3.11", "v4"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_reads_a_conference_on_each_api_version(sim: SimServer, make_client: ClientFactory,
                                                      version: str) -> None:
    conference = await make_client(version).get_conference(CID)
    assert (conference.id, conference.topic, conference.state) == (CID, "Weekly sync", "stopped")
    assert [i.id for i in conference.invitations] == ["alice", "bob"]
    assert sim.world.requests_to("GET", f"/api/{version}/conferences/{CID}")


async def test_v3_sends_the_token_as_query_parameter_and_v4_as_bearer(sim: SimServer,
                                                                      make_client: ClientFactory) -> None:
    # Both are accepted by the simulator; what matters is that each flavour reaches its own paths.
    await make_client("v3.11").run_conference(CID)
    await make_client("v4").stop_conference(CID)
    assert [r.version for r in sim.world.runs_of(CID)] == ["v3.11"]
    assert sim.world.requests_to("POST", f"/api/v4/conferences/{CID}/stop")


async def test_one_token_is_fetched_and_reused(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.get_conference(CID)
    await client.list_invitations(CID)
    assert sim.world.tokens_issued == 1


async def test_token_is_renewed_before_it_expires(sim: SimServer, make_client: ClientFactory,
                                                 clock: ManualClock) -> None:
    sim.world.token_lifetime = 100
    client = make_client()
    await client.get_conference(CID)
    clock.advance(79)
    await client.get_conference(CID)
    assert sim.world.tokens_issued == 1
    clock.advance(2)  # 81 % of the lifetime: renew before the server would refuse it
    await client.get_conference(CID)
    assert sim.world.tokens_issued == 2
    assert all(r.status == 200 for r in sim.world.requests)


@pytest.mark.parametrize("version", VERSIONS)
async def test_rejected_token_is_renewed_once_and_the_request_succeeds(sim: SimServer, make_client: ClientFactory,
                                                                       version: str) -> None:
    client = make_client(version)
    await client.get_conference(CID)
    sim.world.revoke_tokens()  # e.g. the server restarted or the OAuth app was re-created
    assert (await client.run_conference(CID)) == "running"
    assert sim.world.tokens_issued == 2
    assert [r.status for r in sim.world.requests_to("POST", "/run")] == [403 if version == "v3.11" else 401, 200]


@pytest.mark.parametrize("version", VERSIONS)
async def test_token_rejected_twice_is_an_auth_error(sim: SimServer, make_client: ClientFactory,
                                                     version: str) -> None:
    sim.world.set_faults(token_failures=2)
    with pytest.raises(TrueConfAuthError, match="freshly issued token was rejected too") as caught:
        await make_client(version).run_conference(CID)
    assert caught.value.reason == "accessTokenInvalid"
    assert sim.world.tokens_issued == 2
    assert sim.world.runs_of(CID) == []


async def test_wrong_client_secret_is_an_auth_error_naming_the_settings(make_client: ClientFactory) -> None:
    with pytest.raises(TrueConfAuthError, match=r"trueconf\.clientId and trueconf\.clientSecret") as caught:
        await make_client(client_secret="wrong").get_conference(CID)
    assert caught.value.reason == "invalid_client"


async def test_static_secret_key_token(sim: SimServer) -> None:
    async with TrueConfClient.connect(sim.url, token=DEFAULT_SECRET_KEY, api_version="v3.11") as client:
        assert (await client.get_conference(CID)).id == CID
    assert sim.world.tokens_issued == 0


async def test_rejected_static_token_is_an_auth_error_without_retry(sim: SimServer) -> None:
    async with TrueConfClient.connect(sim.url, token="not-the-key") as client:
        with pytest.raises(TrueConfAuthError, match=r"trueconf\.token"):
            await client.get_conference(CID)
    assert len(sim.world.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_unavailable_and_retryable(sim: SimServer, make_client: ClientFactory,
                                                           status: int) -> None:
    client = make_client()
    await client.get_conference(CID)
    sim.world.set_faults(server_errors=1, server_error_status=status)
    with pytest.raises(TrueConfUnavailableError) as caught:
        await client.run_conference(CID)
    assert caught.value.retryable and caught.value.status == status
    assert caught.value.maybe_done is (status == 502)  # a gateway's 502 may hide a request that was carried out
    assert await client.run_conference(CID) == "running"


async def test_token_endpoint_server_error_is_unavailable(sim: SimServer, make_client: ClientFactory) -> None:
    sim.world.set_faults(server_errors=1)
    with pytest.raises(TrueConfUnavailableError):
        await make_client().get_conference(CID)


async def test_connection_refused_is_unavailable(clock: ManualClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with TrueConfClient.connect(f"http://127.0.0.1:{port}", token="t") as client:
        with pytest.raises(TrueConfUnavailableError, match="cannot reach TrueConf Server") as caught:
            await client.get_conference(CID)
    assert not caught.value.maybe_done  # never sent: the server cannot have acted on it


async def test_slow_server_times_out_as_unavailable(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.05)
    sim.world.set_faults(latency=0.3)
    with pytest.raises(TrueConfUnavailableError) as caught:
        await client.get_conference(CID)
    sim.world.clear_faults()
    assert not caught.value.maybe_done  # what timed out was the token request: nothing was asked of the server


async def test_a_request_left_unanswered_may_have_been_carried_out(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.5)
    await client.get_conference(CID)  # holds a token now
    sim.world.set_faults(latency=1.5)
    with pytest.raises(TrueConfUnavailableError) as caught:
        await client.run_conference(CID)
    assert caught.value.maybe_done
    await asyncio.wait_for(_until(lambda: sim.world.runs_of(CID) != []), 30)
    sim.world.clear_faults()  # it was: the conference was started although no answer came back


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - the simulator's world lives in its own thread
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("version", VERSIONS)
async def test_missing_conference_is_conference_not_found(make_client: ClientFactory, version: str) -> None:
    with pytest.raises(ConferenceNotFoundError, match="'nope'") as caught:
        await make_client(version).run_conference("nope")
    assert caught.value.conference_id == "nope" and not caught.value.retryable


@pytest.mark.parametrize("version", VERSIONS)
async def test_invitations_add_list_remove(sim: SimServer, make_client: ClientFactory, version: str) -> None:
    client = make_client(version)
    added = await client.add_invitation(CID, "carol", "Carol C.")
    assert (added.id, added.display_name, added.email) == ("carol", "Carol C.", "Carol@Example.test")
    await client.remove_invitation(CID, "bob")
    assert [i.id for i in await client.list_invitations(CID)] == ["alice", "carol"]


async def test_duplicate_invitation_is_a_request_error_with_the_reason(make_client: ClientFactory) -> None:
    with pytest.raises(TrueConfRequestError) as caught:
        await make_client().add_invitation(CID, "bob")
    assert caught.value.reason == "uniqueValueAlreadyInUse" and caught.value.status == 400


@pytest.mark.parametrize("version", VERSIONS)
async def test_users_are_read_page_by_page(sim: SimServer, make_client: ClientFactory, version: str) -> None:
    users = [u async for u in make_client(version).iter_users(page_size=2)]
    assert [u.id for u in users] == ["alice", "bob", "carol", "dave", "erin"]
    assert len(sim.world.requests_to("GET", f"/api/{version}/users")) == 3


async def test_get_user(make_client: ClientFactory) -> None:
    user = await make_client().get_user("carol")
    assert (user.id, user.uid, user.email) == ("carol", "carol@tcs.example.test", "Carol@Example.test")


@pytest.mark.parametrize("version", VERSIONS)
async def test_invite_now_calls_users_into_the_running_conference(sim: SimServer, make_client: ClientFactory,
                                                                  version: str) -> None:
    client = make_client(version)
    await client.run_conference(CID)
    await client.invite_now(CID, ("carol", "dave"))
    assert [p.id for p in await client.list_participants(CID)] == ["carol", "dave"]
    assert [i.id for i in await client.list_invitations(CID)] == ["alice", "bob"]


def test_unknown_api_version_is_a_config_mistake(sim: SimServer) -> None:
    with pytest.raises(TrueConfError, match="apiVersion"):
        TrueConfClient.connect(sim.url, token="t", api_version="v2")


def test_missing_ca_bundle_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(TrueConfError, match=r"trueconf\.caBundle"):
        TrueConfClient.connect("https://tcs.example.test", token="t", ca_bundle=tmp_path / "none.pem")


def test_credentials_are_required() -> None:
    with pytest.raises(TrueConfError, match="clientId and clientSecret"):
        TrueConfClient.connect("https://tcs.example.test", client_id=DEFAULT_CLIENT_ID)


async def test_concurrent_calls_share_one_token_request(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client()
    await asyncio.gather(*(client.get_conference(CID) for _ in range(5)))
    assert sim.world.tokens_issued == 1


async def test_from_settings_uses_the_trueconf_section(sim: SimServer) -> None:
    settings = TrueConfSettings.model_validate({
        "url": sim.url + "/", "clientId": DEFAULT_CLIENT_ID, "clientSecret": SecretStr(DEFAULT_CLIENT_SECRET),
        "apiVersion": "v3.11"})
    async with TrueConfClient.from_settings(settings) as client:
        await client.run_conference(CID)
    assert [run.version for run in sim.world.runs_of(CID)] == ["v3.11"]


async def test_https_with_a_private_ca_bundle(tmp_path: Path) -> None:
    ca, cert, key = write_tls_files(tmp_path)
    with SimServer(seed_world(World()), ssl_certfile=str(cert), ssl_keyfile=str(key)) as tls_sim:
        async with TrueConfClient.connect(tls_sim.url, token=DEFAULT_SECRET_KEY, ca_bundle=ca) as client:
            assert (await client.get_conference(CID)).id == CID
        async with TrueConfClient.connect(tls_sim.url, token=DEFAULT_SECRET_KEY) as client:
            with pytest.raises(TrueConfUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get_conference(CID)
        async with TrueConfClient.connect(tls_sim.url, token=DEFAULT_SECRET_KEY, verify=False) as client:
            assert (await client.get_conference(CID)).id == CID


async def test_server_info_needs_no_token(sim: SimServer) -> None:
    async with TrueConfClient.connect(sim.url, token="unused") as client:
        assert await client.server_info() == {"version": "5.5.3.0", "name": "tcs.example.test"}
    assert sim.world.requests_to("GET", "/api/v4/server")[0].status == 200
