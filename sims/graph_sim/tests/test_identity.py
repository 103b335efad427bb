"""The token endpoint and discovery documents, through msal's ConfidentialClientApplication as the connector
uses it: client secret, certificate assertion, and Entra's errors for each way it can go wrong."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import msal
from graph_sim_certs import make_certificate
from graph_sim_support import ALICE, graph_client, msal_app

from graph_sim.server import GraphSimulator

SCOPE = ["https://graph.microsoft.com/.default"]


def _acquire(sim: GraphSimulator, client_id: str, credential: Any, authority: str | None = None) -> dict[str, Any]:
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=authority or sim.authority,
        verify=sim.ca_file,
        instance_discovery=False,
    )
    return app.acquire_token_for_client(SCOPE)  # type: ignore[no-any-return]


def test_a_client_secret_gets_a_token_that_reads_calendars(graph: GraphSimulator) -> None:
    result = msal_app(graph).acquire_token_for_client(SCOPE)
    assert result["token_type"] == "Bearer"
    assert 3000 < result["expires_in"] <= 3599
    with graph_client(graph, result["access_token"]) as client:
        assert client.get(f"/users/{ALICE}/events").status_code == 200


def test_a_certificate_assertion_gets_a_token(graph: GraphSimulator) -> None:
    cert = make_certificate()
    graph.tenant.add_app("11111111-2222-4333-8444-555566667777", certificate_pem=cert.certificate_pem)
    result = _acquire(graph, "11111111-2222-4333-8444-555566667777", cert.msal_credential())
    assert "access_token" in result, result
    with graph_client(graph, result["access_token"]) as client:
        assert client.get(f"/users/{ALICE}/calendarView", params=_window()).status_code == 200


def test_msal_finds_the_tenant_through_instance_discovery(graph: GraphSimulator) -> None:
    app = msal.ConfidentialClientApplication(
        graph.client_id,
        client_credential=graph.client_secret,
        authority=graph.authority,
        verify=graph.ca_file,
        instance_discovery=f"{graph.base_url}/common/discovery/instance",
    )
    assert "access_token" in app.acquire_token_for_client(SCOPE)


def test_a_wrong_secret_is_invalid_client_7000215(graph: GraphSimulator) -> None:
    result = _acquire(graph, graph.client_id, "not-the-secret")
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")


def test_an_unknown_app_is_unauthorized_client_700016(graph: GraphSimulator) -> None:
    result = _acquire(graph, "99999999-0000-4000-8000-000000000000", "whatever")
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_an_unregistered_certificate_is_invalid_client_700027(graph: GraphSimulator) -> None:
    registered, other = make_certificate(), make_certificate()
    graph.tenant.add_app("11111111-2222-4333-8444-555566667777", certificate_pem=registered.certificate_pem)
    result = _acquire(graph, "11111111-2222-4333-8444-555566667777", other.msal_credential())
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    assert "The key was not found" in result["error_description"]


def test_an_expired_certificate_is_invalid_client_700027(graph: GraphSimulator) -> None:
    cert = make_certificate(expired=True)
    graph.tenant.add_app("11111111-2222-4333-8444-555566667777", certificate_pem=cert.certificate_pem)
    result = _acquire(graph, "11111111-2222-4333-8444-555566667777", cert.msal_credential())
    assert result["error"] == "invalid_client"
    assert "The key used is expired" in result["error_description"]


def test_an_unknown_tenant_fails_discovery_with_aadsts90002(graph: GraphSimulator) -> None:
    verify = ssl.create_default_context(cafile=graph.ca_file)
    r = httpx.get(f"{graph.base_url}/contoso.invalid/v2.0/.well-known/openid-configuration", verify=verify)
    assert r.status_code == 400
    assert r.json()["error_description"].startswith("AADSTS90002: Tenant 'contoso.invalid' not found.")
    r = httpx.post(
        f"{graph.base_url}/contoso.invalid/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": graph.client_id,
            "client_secret": graph.client_secret,
            "scope": SCOPE[0],
        },
        verify=verify,
    )
    assert (r.status_code, r.json()["error"], r.json()["error_codes"]) == (400, "invalid_request", [90002])


def test_a_scope_without_default_is_invalid_scope(graph: GraphSimulator) -> None:
    r = httpx.post(
        f"{graph.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": graph.client_id,
            "client_secret": graph.client_secret,
            "scope": "Calendars.Read",
        },
        verify=ssl.create_default_context(cafile=graph.ca_file),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_the_secret_may_come_as_http_basic_auth(graph: GraphSimulator) -> None:
    r = httpx.post(
        f"{graph.authority}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": SCOPE[0]},
        auth=(graph.client_id, graph.client_secret),
        verify=ssl.create_default_context(cafile=graph.ca_file),
    )
    assert r.status_code == 200 and r.json()["access_token"]


def test_an_expired_token_is_401_invalid_authentication_token(graph: GraphSimulator) -> None:
    graph.tenant.token_lifetime = 60
    result = msal_app(graph).acquire_token_for_client(SCOPE)
    graph.world.clock.advance(61)  # type: ignore[attr-defined]
    with graph_client(graph, result["access_token"]) as client:
        r = client.get(f"/users/{ALICE}/events")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in r.json()["error"]["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_request_without_token_is_401(graph: GraphSimulator) -> None:
    r = httpx.get(f"{graph.graph_url}/users/{ALICE}/events", verify=ssl.create_default_context(cafile=graph.ca_file))
    assert r.status_code == 401
    assert r.json()["error"] == {
        "code": "InvalidAuthenticationToken",
        "message": "Access token is empty.",
        "innerError": r.json()["error"]["innerError"],
    }


def _window() -> dict[str, str]:
    return {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-01-02T00:00:00Z"}
