"""EWS sessions prepare exchangelib's POSTs directly: the request on the wire is the one requests would send."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests_ntlm import HttpNtlmAuth

from tc_calendar.providers._ews_session import EndpointSettings, ServiceAccount
from tc_calendar.providers._lean_session import LeanSession

URL = "http://ews.corp.test/EWS/Exchange.asmx"
BODY = b'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>'
# What exchangelib's post_ratelimited passes for every EWS request.
EWS_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "X-AnchorMailbox": "anna@corp.test"}


def ews_session(url: str, auth: Any) -> requests.Session:
    account = ServiceAccount(EndpointSettings(url, auth="basic", server_version="Exchange2016"), "svc", "pw")
    session: requests.Session = account.protocol.raw_session(url)
    session.auth = auth
    account.close()
    return session


def as_requests_would(session: requests.Session, headers: dict[str, str | None]) -> requests.PreparedRequest:
    return session.prepare_request(requests.Request("POST", URL, headers=headers, data=BODY))


@pytest.mark.parametrize(
    "auth", [requests.auth.HTTPBasicAuth("svc", "pw"), HttpNtlmAuth("CORP\\svc", "pw")], ids=["basic", "ntlm"]
)
def test_an_ews_post_is_prepared_exactly_as_requests_prepares_it(auth: Any) -> None:
    session = ews_session(URL, auth)
    assert isinstance(session, LeanSession)
    session.cookies.set("X-BackEndCookie", "affinity", domain="ews.corp.test", path="/EWS")
    headers: dict[str, str | None] = {**EWS_HEADERS, "Accept-Encoding": None}  # None: drop the session's header

    lean = session.prepare_plain("post", URL, headers, BODY)
    expected = as_requests_would(session, headers)

    assert (lean.method, lean.url, lean.body) == (expected.method, expected.url, expected.body)
    assert dict(lean.headers) == dict(expected.headers)
    assert "Accept-Encoding" not in lean.headers
    assert "X-BackEndCookie=affinity" in lean.headers["Cookie"]
    assert lean.hooks == expected.hooks  # NTLM's handshake hook among them


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request, sets an affinity cookie, and records what it received."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Set-Cookie", "X-BackEndCookie=affinity; Path=/")
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/EWS/Exchange.asmx"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_posts_carry_the_headers_the_body_and_the_cookies_the_server_set(server: str) -> None:
    session = ews_session(server, requests.auth.HTTPBasicAuth("svc", "pw"))
    for _ in range(2):
        answer = session.post(url=server, headers=EWS_HEADERS, data=BODY, allow_redirects=False, timeout=10)
        assert (answer.status_code, answer.content) == (200, b"ok")

    (method, path, first, body), (_, _, second, _) = _Recorder.seen
    assert (method, path, body) == ("POST", "/EWS/Exchange.asmx", BODY)
    assert first["X-AnchorMailbox"] == "anna@corp.test"
    assert first["Authorization"].startswith("Basic ")
    assert first["Content-Length"] == str(len(BODY))
    assert "Cookie" not in first
    assert second["Cookie"] == "X-BackEndCookie=affinity"


def test_other_calls_take_requests_own_path(server: str) -> None:
    session = ews_session(server, None)
    answer = session.get(server, params={"wsdl": "1"}, timeout=10)
    assert answer.status_code == 200
    assert _Recorder.seen[0][:2] == ("GET", "/EWS/Exchange.asmx?wsdl=1")
