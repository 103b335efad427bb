"""Transport: TLS when configured, other routes on the same port, passwords only over TLS or loopback, shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
from api_harness import SECRET, SERVER_ID, WEB_USERS, running_api
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tc_calendar.api.app import create_app
from tc_calendar.api.auth import AuthThrottle, ServerCredentials, SessionTokens, derive_token_key
from tc_calendar.api.client import ApiClient, Disconnected, ServerAuth
from tc_calendar.api.errors import InsecureTransport
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.methods import ApiServices, Methods, Session
from tc_calendar.api.registry import OnDemandRegistry
from tc_calendar.api.schemas import AuthLoginParams
from tc_calendar.api.server import run_server
from tc_calendar.store import Store


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "api.crt", tmp_path / "api.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def services(store: Store, limits: ApiLimits | None = None) -> ApiServices:
    limits = limits or ApiLimits()
    return ApiServices(
        calendar=store,
        changes=store,
        mailboxes=OnDemandRegistry(store),
        credentials=ServerCredentials.build([SERVER_ID], SECRET, {}),
        web_users=WEB_USERS,
        tokens=SessionTokens(derive_token_key(SECRET), limits.session_token_ttl),
        throttle=AuthThrottle(),
        limits=limits,
    )


async def test_with_a_certificate_the_api_speaks_wss(api_store: Store, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    limits = ApiLimits()
    app = create_app(services(api_store, limits))
    context = ssl.create_default_context(cafile=str(cert))
    async with run_server(app, limits, tls_cert=cert, tls_key=key) as server:
        url = f"wss://localhost:{server.port}/ws"
        assert server.url.startswith("wss://")
        async with await ApiClient.connect(url, ServerAuth(SERVER_ID, SECRET), ssl_context=context) as client:
            assert (await client.call("server.info"))["protocol"] == 1


async def test_extra_routes_are_served_on_the_same_port_beside_the_websocket(api_store: Store) -> None:
    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    limits = ApiLimits()
    app = create_app(services(api_store, limits), extra_routes=[Route("/health", health)])
    async with run_server(app, limits) as server:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{server.port}/health")
        assert response.text == "ok"
        async with await ApiClient.connect(f"ws://127.0.0.1:{server.port}/", ServerAuth(SERVER_ID, SECRET)):
            pass


async def test_a_password_is_refused_over_plain_ws_from_another_machine(api_store: Store) -> None:
    class NoSubscriptions:
        def start(self, users: object, cursor: int) -> str:
            raise AssertionError

        def stop(self, subscription: str) -> int | None:
            return None

        def count(self) -> int:
            return 0

    methods = Methods(services(api_store))
    session = Session(address="192.0.2.7", secure=False, subscriptions=NoSubscriptions())
    login, password = next(iter(WEB_USERS.items()))
    with pytest.raises(InsecureTransport):
        await methods.auth_login(session, AuthLoginParams(login=login, password=password))
    assert session.principal is None


async def test_stopping_the_server_closes_its_connections(api_store: Store) -> None:
    async with running_api(api_store) as api:
        client = await ApiClient.connect(api.url, ServerAuth(SERVER_ID, SECRET))
    closed: Disconnected = await asyncio.wait_for(client.wait_closed(), 10)
    assert closed.code in (1001, 1012)
    await client.close()
