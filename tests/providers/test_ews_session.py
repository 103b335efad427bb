"""Sessions to an EWS endpoint and the handles of its mailboxes: the environment's proxy settings hold, read once per
session; handles are kept for the mailboxes used last only."""

import pytest

from tc_calendar.providers._ews_session import HANDLES_KEPT, EndpointSettings, ServiceAccount

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


def test_a_service_account_keeps_the_handles_of_the_mailboxes_used_last_only() -> None:
    account = ServiceAccount(
        EndpointSettings("https://mail.example.test/EWS/Exchange.asmx", server_version="Exchange2016"), "svc", "pw"
    )
    first = account.calendar("user0@example.test")
    assert account.calendar("user0@example.test") is first  # a mailbox's requests share its handles
    assert account.account("user0@example.test") is first.root.account
    for number in range(1, HANDLES_KEPT + 1):
        account.calendar(f"user{number}@example.test")
    assert len(account._handles) == HANDLES_KEPT  # 10,000 mailboxes do not hold 10,000 handles
    again = account.calendar("user0@example.test")  # the least recently used went; built again when used again
    assert again is not first and again.root.account.primary_smtp_address == "user0@example.test"
    account.close()
