"""Access tokens for Microsoft Graph: which hosts each national cloud uses, and what an admin reads on failure."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import typing
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import urllib3
from pydantic import SecretStr

from app_certificates import write_app_certificate
from graph_sim.server import GraphSimulator
from graph_sim.testing import running
from tc_calendar.config import GraphProviderSettings
from tc_calendar.providers.base import AuthError, TransientError
from tc_calendar.providers.graph_auth import (
    CLOUDS,
    AuthorityUnreachableError,
    GraphEndpoints,
    GraphTokenSource,
)

TENANT = "8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35"
CLIENT = "c0ffee00-1111-4222-8333-444455556666"
ANNA = "anna@example.com"


def graph_settings(**keys: object) -> GraphProviderSettings:
    return GraphProviderSettings.model_validate(
        {"type": "graph", "tenantId": TENANT, "clientId": CLIENT, "clientSecret": SecretStr("s3cret"), **keys}
    )


@pytest.mark.parametrize(
    ("cloud", "authority", "graph"),
    [
        ("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_each_national_cloud_signs_in_and_reads_graph_at_its_own_hosts(cloud: str, authority: str, graph: str) -> None:
    endpoints = GraphEndpoints.from_settings(graph_settings(cloud=cloud))
    assert endpoints.authority(TENANT) == f"{authority}/{TENANT}"
    assert endpoints.api_root == f"{graph}/v1.0"
    assert endpoints.scope == f"{graph}/.default"


def test_every_cloud_the_config_accepts_has_endpoints() -> None:
    field = GraphProviderSettings.model_fields["cloud"]
    assert set(typing.get_args(field.annotation)) == set(CLOUDS)


def test_overridden_hosts_receive_the_requests_and_tokens_stay_for_the_clouds_graph() -> None:
    endpoints = GraphEndpoints.from_settings(
        graph_settings(cloud="usgov", authorityHost="https://127.0.0.1:8443/", graphHost="https://proxy.corp:9443")
    )
    assert endpoints.authority(TENANT) == f"https://127.0.0.1:8443/{TENANT}"
    assert endpoints.api_root == "https://proxy.corp:9443/v1.0"
    assert endpoints.scope == "https://graph.microsoft.us/.default"


def test_the_credential_never_shows_its_secret() -> None:
    source = GraphTokenSource.from_settings(graph_settings())
    assert "s3cret" not in repr(source.credential)
    assert source.credential.secret == "s3cret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_sign_in_host_is_an_auth_error_that_may_pass() -> None:
    host = f"https://127.0.0.1:{_closed_port()}"
    source = GraphTokenSource.from_settings(graph_settings(authorityHost=host, timeoutSeconds=5))
    with pytest.raises(AuthorityUnreachableError) as caught:
        await source.access_token()
    assert isinstance(caught.value, AuthError) and isinstance(caught.value, TransientError)
    assert f"cannot reach {host} (ConnectionError); check DNS, firewall and proxy" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_after_a_failure_callers_get_the_same_error_without_a_new_request() -> None:
    host = f"https://127.0.0.1:{_closed_port()}"
    source = GraphTokenSource.from_settings(graph_settings(authorityHost=host), failure_hold_seconds=60)
    for _ in range(3):
        with pytest.raises(AuthorityUnreachableError):
            await source.access_token()
    assert source.attempts == 1


# ------------------------------------------------------------------------------- against the Graph simulator


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    with running() as simulator:
        simulator.world.add_mailbox(ANNA, "Anna", "Europe/Berlin")
        yield simulator


def sim_settings(sim: GraphSimulator, **keys: object) -> GraphProviderSettings:
    entry: dict[str, object] = {
        "type": "graph", "tenantId": sim.tenant_id, "clientId": sim.client_id,
        "clientSecret": SecretStr(sim.client_secret), "authorityHost": sim.base_url, "graphHost": sim.base_url,
        "caBundle": sim.ca_file, "timeoutSeconds": 10, **keys,
    }
    return GraphProviderSettings.model_validate({k: v for k, v in entry.items() if v is not None})


def certificate_settings(sim: GraphSimulator, path: Path, **keys: object) -> GraphProviderSettings:
    thumbprint = write_app_certificate(path, **keys)  # type: ignore[arg-type]
    return sim_settings(sim, clientSecret=None, certificate={"file": str(path), "thumbprint": thumbprint})


async def failure(source: GraphTokenSource) -> str:
    with pytest.raises(AuthError) as caught:
        await source.access_token()
    return str(caught.value)


async def test_a_token_got_with_the_client_secret_reads_a_mailbox_on_graph(sim: GraphSimulator) -> None:
    source = GraphTokenSource.from_settings(sim_settings(sim))
    token = await source.access_token()
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=sim.ca_file)) as client:
        response = await client.get(f"{source.endpoints.api_root}/users/{ANNA}/events",
                                    headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


async def test_a_token_got_with_a_certificate_uploaded_to_the_app_reads_a_mailbox(
    sim: GraphSimulator, tmp_path: Path
) -> None:
    settings = certificate_settings(sim, tmp_path / "app.pem")
    sim.tenant.add_certificate(sim.client_id, (tmp_path / "app.pem").read_bytes())
    token = await GraphTokenSource.from_settings(settings).access_token()
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=sim.ca_file)) as client:
        response = await client.get(f"{sim.graph_url}/users/{ANNA}/calendarView",
                                    params={"startDateTime": "2026-01-01T00:00:00Z",
                                            "endDateTime": "2026-01-02T00:00:00Z"},
                                    headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_mailbox_loops_asking_at_once_share_one_token_request(sim: GraphSimulator) -> None:
    source = GraphTokenSource.from_settings(sim_settings(sim))
    tokens = await asyncio.gather(*(source.access_token() for _ in range(20)))
    assert len(set(tokens)) == 1
    assert await source.access_token() == tokens[0]
    assert source.attempts == 1


async def test_a_token_is_renewed_before_it_expires(sim: GraphSimulator) -> None:
    sim.tenant.token_lifetime = 60
    now = [1000.0]
    source = GraphTokenSource.from_settings(sim_settings(sim), clock=lambda: now[0])
    first = await source.access_token()
    now[0] += 29  # 31 s of 60 left: still held
    assert await source.access_token() == first
    now[0] += 2  # 29 s left, under half its life: renewed before it expires
    second = await source.access_token()
    assert second != first
    assert source.attempts == 2


async def test_a_token_graph_refused_is_replaced_after_invalidate(sim: GraphSimulator) -> None:
    source = GraphTokenSource.from_settings(sim_settings(sim))
    first = await source.access_token()
    source.invalidate()
    assert await source.access_token() != first
    assert source.attempts == 2


async def test_a_wrong_client_secret_says_to_encrypt_the_secrets_value(sim: GraphSimulator) -> None:
    message = await failure(GraphTokenSource.from_settings(sim_settings(sim, clientSecret=SecretStr("wrong"))))
    assert message == (
        f"Graph app {sim.client_id} in tenant {sim.tenant_id}: the client secret of application {sim.client_id} is "
        "wrong (AADSTS7000215); create a new client secret under Certificates & secrets, encrypt its Value (not "
        "its Secret ID) with tc_calendar --hash_pass and put the token in clientSecret"
    )


async def test_an_expired_client_secret_says_to_create_a_new_one(sim: GraphSimulator) -> None:
    sim.tenant.add_secret(sim.client_id, "old-secret", expires=datetime.now(UTC) - timedelta(days=1))
    message = await failure(GraphTokenSource.from_settings(sim_settings(sim, clientSecret=SecretStr("old-secret"))))
    assert "has expired (AADSTS7000222); create a new client secret" in message


async def test_an_unknown_client_id_says_where_to_find_the_right_one(sim: GraphSimulator) -> None:
    other = "0badc0de-1111-4222-8333-444455556666"
    message = await failure(GraphTokenSource.from_settings(sim_settings(sim, clientId=other)))
    assert f"the application {other} is not registered or is disabled in tenant {sim.tenant_id} (AADSTS700016)" in (
        message
    )
    assert "Application (client) ID on the app registration's Overview page" in message


async def test_a_wrong_tenant_says_where_to_find_the_directory_id(sim: GraphSimulator) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    message = await failure(GraphTokenSource.from_settings(sim_settings(sim, tenantId=other)))
    assert f"{sim.base_url} does not know the tenant '{other}' (AADSTS90002); check tenantId (Directory (tenant) " \
           "ID in Microsoft Entra admin center > Overview) and cloud" in message


async def test_a_certificate_not_uploaded_to_the_app_is_refused_naming_its_thumbprint(
    sim: GraphSimulator, tmp_path: Path
) -> None:
    settings = certificate_settings(sim, tmp_path / "app.pem")
    assert settings.certificate is not None
    message = await failure(GraphTokenSource.from_settings(settings))
    assert (
        f"Microsoft Entra does not accept the certificate with thumbprint {settings.certificate.thumbprint} for "
        f"application {sim.client_id} (AADSTS700027): it is not uploaded to the app registration, or it has expired"
    ) in message


async def test_an_expired_certificate_is_refused(sim: GraphSimulator, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    settings = certificate_settings(
        sim, tmp_path / "app.pem", valid_from=now - timedelta(days=400), valid_until=now - timedelta(days=1)
    )
    sim.tenant.add_certificate(sim.client_id, (tmp_path / "app.pem").read_bytes())
    assert "(AADSTS700027): it is not uploaded to the app registration, or it has expired" in (
        await failure(GraphTokenSource.from_settings(settings))
    )


async def test_a_sign_in_host_with_an_untrusted_certificate_says_to_set_ca_bundle(sim: GraphSimulator) -> None:
    source = GraphTokenSource.from_settings(sim_settings(sim, caBundle=None))
    with pytest.raises(AuthorityUnreachableError) as caught:
        await source.access_token()
    assert f"the TLS certificate of {sim.base_url} is not trusted (self-signed certificate); set caBundle" in (
        str(caught.value)
    )
    assert "set caBundle to the CA that issued it" in str(caught.value)


async def test_without_tls_verification_the_token_is_still_got_and_the_risk_is_logged(
    sim: GraphSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tc_calendar.providers.graph_auth"):
        source = GraphTokenSource.from_settings(sim_settings(sim, caBundle=None, verifyTls=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        await source.access_token()
    assert any("TLS certificate verification is OFF for the Graph app" in m for m in caplog.messages)


async def test_neither_the_secret_nor_a_token_is_ever_logged(
    sim: GraphSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        source = GraphTokenSource.from_settings(sim_settings(sim))
        token = await source.access_token()
        await failure(GraphTokenSource.from_settings(sim_settings(sim, clientSecret=SecretStr("wrong-one"))))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert sim.client_secret not in logged and "wrong-one" not in logged and token not in logged


async def test_a_token_that_fails_to_renew_is_used_until_it_expires_then_the_failure_is_reported(
    sim: GraphSimulator,
) -> None:
    sim.tenant.token_lifetime = 60
    now = [1000.0]
    source = GraphTokenSource.from_settings(sim_settings(sim), clock=lambda: now[0])
    first = await source.access_token()
    sim.tenant.remove_app(sim.client_id)  # the app registration is deleted in Entra
    now[0] += 40  # time to renew: Entra refuses, the current token still has 20 s
    assert await source.access_token() == first
    assert await source.access_token() == first  # within the failure hold: no new request
    assert source.attempts == 2
    now[0] += 25  # expired now, and the hold has passed
    with pytest.raises(AuthError, match=r"is not registered or is disabled in tenant .* \(AADSTS700016\)"):
        await source.access_token()
    assert source.attempts == 3
