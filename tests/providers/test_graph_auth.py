"""Access tokens for Microsoft Graph: which hosts each national cloud uses, and what an admin reads on failure."""

from __future__ import annotations

import socket
import typing

import pytest
from pydantic import SecretStr

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
