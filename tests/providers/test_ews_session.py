"""Sessions to an EWS endpoint: the environment's proxy settings hold, read once per session."""

import pytest

from tc_calendar.providers._ews_session import EndpointSettings, ServiceAccount

URL = "https://ews.corp.test/EWS/Exchange.asmx"
DIRECT = "https://ews-direct.corp.test/EWS/Exchange.asmx"


def session_proxies(url: str) -> tuple[dict[str, str], bool]:
    account = ServiceAccount(EndpointSettings(url, auth="basic", server_version="Exchange2016"), "svc", "pw")
    try:
        session = account.protocol.raw_session(url)
        return dict(session.proxies), session.trust_env
    finally:
        account.close()


def test_the_environments_proxy_is_used_unless_the_endpoint_is_excluded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    monkeypatch.setenv("NO_PROXY", "ews-direct.corp.test")
    proxies, per_request = session_proxies(URL)
    assert proxies.get("https") == "http://proxy.corp.test:3128"
    # requests no longer scans the environment for every request: the session carries what it found.
    assert per_request is False
    assert session_proxies(DIRECT)[0] == {}
