"""Transport: HTTP/1.1 on a real socket, HTTPS with a generated certificate, Basic and NTLM authentication,
the 401 challenges an on-premises Exchange 2016 sends, and ServerVersionInfo in every response header."""

from __future__ import annotations

import base64
import http.client
import warnings
from collections.abc import Callable, Iterator

import pytest
import urllib3
from ews_harness import ALICE, SERVICE_LOGIN, SERVICE_PASSWORD, exchangelib_account
from exchangelib import BASIC, NTLM, Account
from exchangelib.errors import UnauthorizedError
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter
from lxml import etree

from ews_sim.server import EwsSimulator
from ews_sim.world import World

GET_CALENDAR = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
  <s:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID>
      <t:PrimarySmtpAddress>alice@example.com</t:PrimarySmtpAddress>
    </t:ConnectingSID></t:ExchangeImpersonation>
  </s:Header>
  <s:Body>
    <m:GetFolder>
      <m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>
      <m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds>
    </m:GetFolder>
  </s:Body>
</s:Envelope>"""

T = "{http://schemas.microsoft.com/exchange/services/2006/types}"


def _basic(login: str = SERVICE_LOGIN, password: str = SERVICE_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def _post(conn: http.client.HTTPConnection, body: bytes, auth: str | None) -> http.client.HTTPResponse:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if auth:
        headers["Authorization"] = auth
    conn.request("POST", "/EWS/Exchange.asmx", body=body, headers=headers)
    return conn.getresponse()


def test_keep_alive_serves_several_requests_on_one_connection(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    first = _post(conn, GET_CALENDAR, _basic())
    first.read()
    sock = conn.sock
    second = _post(conn, GET_CALENDAR, _basic())
    second.read()
    assert (first.status, second.status) == (200, 200)
    assert conn.sock is sock  # the same TCP connection carried both
    assert first.version == 11
    conn.close()


def test_every_response_carries_the_exchange_2016_server_version(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    resp = _post(conn, GET_CALENDAR, _basic())
    root = etree.fromstring(resp.read())
    info = root.find(f"{{http://schemas.xmlsoap.org/soap/envelope/}}Header/{T}ServerVersionInfo")
    assert info is not None
    assert dict(info.attrib) == {
        "MajorVersion": "15",
        "MinorVersion": "1",
        "MajorBuildNumber": "2507",
        "MinorBuildNumber": "39",
        "Version": "V2017_07_11",
    }
    conn.close()


def test_missing_or_wrong_credentials_get_401_with_the_exchange_challenges(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    for auth in (None, _basic(password="wrong")):
        resp = _post(conn, GET_CALENDAR, auth)
        resp.read()
        assert resp.status == 401
        assert resp.headers.get_all("WWW-Authenticate") == ["Negotiate", "NTLM", 'Basic realm="EWS"']
    conn.close()
    assert ews_server.world.gate.counters()["GetFolder"]["HTTP 401"] == 2


def test_unknown_paths_are_404(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    conn.request("POST", "/EWS/Other.asmx", body=b"x")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 404
    conn.close()


def test_malformed_soap_is_a_schema_validation_fault(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    resp = _post(conn, b"<not-soap/>", _basic())
    body = resp.read()
    assert resp.status == 500
    assert b"a:ErrorSchemaValidation" in body
    conn.close()


def test_basic_auth_with_exchangelib(ews_account: Callable[..., Account]) -> None:
    assert ews_account(ALICE, auth_type=BASIC).calendar.name == "Calendar"


def test_basic_auth_bad_password_raises_unauthorized(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE, password="nope")
    with pytest.raises(UnauthorizedError):
        account.calendar  # noqa: B018 - the property sends GetFolder


@pytest.mark.parametrize("login", [SERVICE_LOGIN, f"EXAMPLE\\{SERVICE_LOGIN}"])
def test_ntlm_handshake_with_exchangelib(ews_account: Callable[..., Account], login: str) -> None:
    account = ews_account(ALICE, login=login, auth_type=NTLM)
    assert account.calendar.name == "Calendar"
    # The authenticated connection is reused for the next request.
    assert list(account.calendar.all()) == []


def test_ntlm_wrong_password_is_unauthorized(ews_account: Callable[..., Account]) -> None:
    account = ews_account(ALICE, auth_type=NTLM, password="bad")
    with pytest.raises(UnauthorizedError):
        account.calendar  # noqa: B018


@pytest.fixture
def https_server(ews_world: World) -> Iterator[EwsSimulator]:
    with EwsSimulator(ews_world, https=True) as sim:
        yield sim


@pytest.fixture
def no_verify() -> Iterator[None]:
    """exchangelib's documented switch for self-signed certificates, for this test only."""
    saved = BaseProtocol.HTTP_ADAPTER_CLS
    BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield
    BaseProtocol.HTTP_ADAPTER_CLS = saved


def test_https_with_self_signed_certificate(https_server: EwsSimulator, no_verify: None) -> None:
    assert https_server.url.startswith("https://127.0.0.1:")
    account = exchangelib_account(https_server, ALICE, auth_type=NTLM)
    try:
        assert account.calendar.name == "Calendar"
    finally:
        account.protocol.close()


def test_https_certificate_verifies_against_its_own_file(https_server: EwsSimulator) -> None:
    import ssl

    assert https_server.certificate is not None
    ctx = ssl.create_default_context(cafile=https_server.certificate.cert_file)
    conn = http.client.HTTPSConnection("127.0.0.1", https_server.port, context=ctx, timeout=10)
    resp = _post(conn, GET_CALENDAR, _basic())
    resp.read()
    assert resp.status == 200
    conn.close()


def _negotiate_handshake(conn: http.client.HTTPConnection, scheme: str, protocol: str, password: str) -> int:
    """Run an NTLM handshake (raw, or SPNEGO-wrapped for Negotiate) on one connection; return the final status."""
    import spnego

    client = spnego.client(f"EXAMPLE\\{SERVICE_LOGIN}", password, hostname="127.0.0.1", protocol=protocol)
    token = client.step()
    resp = _post(conn, GET_CALENDAR, f"{scheme} {base64.b64encode(token or b'').decode()}")
    resp.read()
    assert resp.status == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith(f"{scheme} ")
    token = client.step(base64.b64decode(challenge.split(" ", 1)[1]))
    resp = _post(conn, GET_CALENDAR, f"{scheme} {base64.b64encode(token or b'').decode()}")
    resp.read()
    return resp.status


@pytest.mark.parametrize(("scheme", "protocol"), [("NTLM", "ntlm"), ("Negotiate", "negotiate")])
def test_ntlm_and_negotiate_authenticate_the_connection(ews_server: EwsSimulator, scheme: str, protocol: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    assert _negotiate_handshake(conn, scheme, protocol, SERVICE_PASSWORD) == 200
    # The connection stays authenticated: the next request needs no Authorization header.
    resp = _post(conn, GET_CALENDAR, None)
    resp.read()
    assert resp.status == 200
    conn.close()
    # A new connection starts unauthenticated.
    other = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    resp = _post(other, GET_CALENDAR, None)
    resp.read()
    assert resp.status == 401
    other.close()


def test_ntlm_bad_password_on_raw_handshake(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    assert _negotiate_handshake(conn, "NTLM", "ntlm", "wrong") == 401
    conn.close()


def test_chunked_request_body(ews_server: EwsSimulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    chunks = iter([GET_CALENDAR[:100], GET_CALENDAR[100:]])
    conn.request(
        "POST",
        "/EWS/Exchange.asmx",
        body=chunks,
        headers={"Authorization": _basic(), "Content-Type": "text/xml", "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    resp = conn.getresponse()
    assert resp.status == 200
    assert b"CalendarFolder" in resp.read()
    conn.close()


def test_stop_ends_streams_and_the_world_can_be_served_again(ews_world: World) -> None:
    import threading
    import time

    from ews_sim.testing import running

    with running(ews_world) as first:
        account = exchangelib_account(first, ALICE)
        sub_id = account.calendar.subscribe_to_streaming()
        outcome: list[object] = []

        def listen() -> None:
            try:
                outcome.append(list(account.calendar.get_streaming_events(sub_id, connection_timeout=30)))
            except Exception as exc:  # the server went away mid-stream
                outcome.append(exc)

        listener = threading.Thread(target=listen)
        listener.start()
        time.sleep(0.3)
        started = time.monotonic()
    listener.join(10)
    assert not listener.is_alive()
    assert time.monotonic() - started < 5
    account.protocol.close()
    with running(ews_world) as second:  # same world, same subscription, new server
        again = exchangelib_account(second, ALICE)
        assert list(again.calendar.get_streaming_events(sub_id, connection_timeout=1)) == []
        again.protocol.close()


def test_requests_are_validated_against_the_schema(ews_server: EwsSimulator) -> None:
    from ews_harness import soap_call
    from exchangelib.errors import ErrorSchemaValidation

    # FolderIds before FolderShape: Exchange refuses the request before running it.
    status, body = soap_call(
        ews_server,
        '<m:GetFolder><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds>'
        "<m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape></m:GetFolder>",
    )
    assert status == 500
    detail = etree.fromstring(body).find(".//detail")
    assert detail is not None
    assert detail.findtext(f"{T}MessageXml/{T}LineNumber")
    assert "FolderIds" in (detail.findtext(f"{T}MessageXml/{T}Violation") or "")
    with pytest.raises(ErrorSchemaValidation, match="line"):
        _raise_fault(body)
    assert ews_server.world.gate.counters()["GetFolder"]["ErrorSchemaValidation"] == 1


def _raise_fault(body: bytes) -> None:
    """Run exchangelib's own SOAP-fault parser over a response body."""
    from exchangelib.services.common import EWSService

    fault = etree.fromstring(body).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    EWSService._raise_soap_errors(fault=fault)


def test_parallel_clients_are_served_and_counted(ews_server: EwsSimulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def client(n: int) -> list[int]:
        with requests.Session() as session:
            session.auth = (SERVICE_LOGIN, SERVICE_PASSWORD)
            return [session.post(ews_server.url, data=GET_CALENDAR, timeout=20).status_code for _ in range(5)]

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = [s for result in pool.map(client, range(12)) for s in result]
    assert statuses == [200] * 60
    assert ews_server.world.gate.counters()["GetFolder"]["NoError"] == 60
    assert ews_server.world.gate.in_flight(SERVICE_LOGIN) == 0


@pytest.mark.parametrize(("scheme", "protocol"), [("NTLM", "ntlm"), ("Negotiate", "negotiate")])
def test_a_handshake_uses_the_accounts_own_password_whatever_else_the_process_registered(
    ews_server: EwsSimulator, scheme: str, protocol: str
) -> None:
    """Another simulator in the same process may have registered the same login with another password."""
    from ews_sim.auth import Credential, NtlmCredentialFile

    NtlmCredentialFile.register([Credential(f"EXAMPLE\\{SERVICE_LOGIN}", "someone else's password")])
    conn = http.client.HTTPConnection("127.0.0.1", ews_server.port, timeout=10)
    assert _negotiate_handshake(conn, scheme, protocol, SERVICE_PASSWORD) == 200
    conn.close()
