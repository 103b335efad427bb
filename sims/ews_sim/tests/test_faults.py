"""Faults and limits switched on in the world, as exchangelib receives them: each must look like what
Exchange 2016 sends, so that a client's handling is exercised for real."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from ews_harness import ALICE, SERVICE_LOGIN, SERVICE_PASSWORD
from exchangelib import Account, FaultTolerance
from exchangelib.errors import (
    ErrorExceededConnectionCount,
    ErrorExpiredSubscription,
    ErrorInternalServerError,
    ErrorInternalServerTransientError,
    ErrorMailboxStoreUnavailable,
    ErrorServerBusy,
    UnauthorizedError,
)
from exchangelib.services import GetItem
from lxml import etree

from ews_sim import soap
from ews_sim.server import EwsSimulator
from ews_sim.services.common import as_soap_error
from ews_sim.world import ServerBusy, World


def _tolerant(ews_account: Callable[..., Account], max_wait: float = 5) -> Account:
    account = ews_account(ALICE, retry_policy=FaultTolerance(max_wait=max_wait))
    account.protocol.RETRY_WAIT = 0.05  # exchangelib's first back-off when the server names none
    return account


def test_server_busy_is_a_soap_fault_with_back_off(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    account.calendar  # noqa: B018 - warm up: folder lookups are cached
    ews_world.gate.server_busy(count=1, backoff_ms=1500)
    with pytest.raises(ErrorServerBusy) as info:
        list(account.calendar.all())
    assert info.value.back_off == 1.5
    assert ews_world.gate.counters()["FindItem"]["ErrorServerBusy"] == 1


def test_server_busy_is_retried_after_the_back_off(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = _tolerant(ews_account)
    account.calendar  # noqa: B018
    ews_world.gate.server_busy(count=1, backoff_ms=200)
    started = time.monotonic()
    assert list(account.calendar.all()) == []
    assert time.monotonic() - started >= 0.2
    assert ews_world.gate.counters()["FindItem"] == {"ErrorServerBusy": 1, "NoError": 1, "total": 2}


def test_server_busy_in_a_response_message_carries_back_off_milliseconds(
    ews_account: Callable[..., Account],
) -> None:
    # Per-item throttling (a batch running out of budget) comes as an error ResponseMessage with MessageXml.
    root, messages = soap.response_root("GetItem")
    soap.error_message(messages, "GetItem", as_soap_error(ServerBusy(2500)))
    xml = soap.envelope(root)
    value = etree.fromstring(xml).find(".//{*}MessageXml/{*}Value")
    assert value is not None and (value.get("Name"), value.text) == ("BackOffMilliseconds", "2500")
    with pytest.raises(ErrorServerBusy):
        list(GetItem(account=ews_account(ALICE)).parse(xml))


def test_http_401_is_unauthorized(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    ews_world.gate.fail_http(401)
    with pytest.raises(UnauthorizedError):
        account.calendar  # noqa: B018


def test_http_503_fails_fast_as_server_busy(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    account.calendar  # noqa: B018
    ews_world.gate.fail_http(503)
    with pytest.raises(ErrorServerBusy, match="503"):
        list(account.calendar.all())


@pytest.mark.parametrize("status", [500, 503])
def test_http_500_and_503_are_retried(ews_account: Callable[..., Account], ews_world: World, status: int) -> None:
    account = _tolerant(ews_account)
    account.calendar  # noqa: B018
    ews_world.gate.fail_http(status, count=2)
    assert list(account.calendar.all()) == []
    assert ews_world.gate.counters()["FindItem"][f"HTTP {status}"] == 2


def test_http_500_page_is_what_iis_sends(ews_server: EwsSimulator, ews_world: World) -> None:
    ews_world.gate.fail_http(500)
    resp = requests.post(ews_server.url, data=b"<x/>", auth=(SERVICE_LOGIN, SERVICE_PASSWORD), timeout=10)
    assert resp.status_code == 500
    assert "Server Error in '/EWS' Application" in resp.text
    assert issubclass(ErrorInternalServerTransientError, Exception)


def test_added_latency(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    account.calendar  # noqa: B018
    ews_world.gate.set_latency(300)
    started = time.monotonic()
    list(account.calendar.all())
    assert time.monotonic() - started >= 0.3


def _raw_streaming(sim: EwsSimulator, sub_id: str) -> None:
    """GetStreamingEvents on its own connection (exchangelib would queue behind its one pooled session), open for
    three seconds: time enough for a busy machine's next request to arrive while it holds the slot."""
    body = f"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
      xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <s:Header><t:RequestServerVersion Version="Exchange2016"/>
        <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{ALICE}</t:PrimarySmtpAddress>
        </t:ConnectingSID></t:ExchangeImpersonation></s:Header>
      <s:Body><m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>{sub_id}</t:SubscriptionId>
      </m:SubscriptionIds><m:ConnectionTimeout>3</m:ConnectionTimeout></m:GetStreamingEvents></s:Body></s:Envelope>"""
    resp = requests.post(sim.url, data=body.encode(), auth=(SERVICE_LOGIN, SERVICE_PASSWORD), timeout=10)
    assert resp.status_code == 200


def test_concurrency_budget_of_the_service_account(
    ews_account: Callable[..., Account], ews_world: World, ews_server: EwsSimulator
) -> None:
    account = ews_account(ALICE)
    account.calendar  # noqa: B018
    sub_id = account.calendar.subscribe_to_streaming()
    ews_world.gate.set_max_concurrency(1)
    holder = threading.Thread(target=_raw_streaming, args=(ews_server, sub_id))
    holder.start()
    deadline = time.monotonic() + 30
    while ews_world.gate.in_flight(SERVICE_LOGIN) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ews_world.gate.in_flight(SERVICE_LOGIN) == 1
    with pytest.raises(ErrorExceededConnectionCount):
        list(account.calendar.all())
    holder.join()
    assert ews_world.gate.counters()["FindItem"]["ErrorExceededConnectionCount"] == 1
    assert list(account.calendar.all()) == []  # the slot is free again once the stream ended


def test_streaming_connection_dropped_mid_response(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    sub_id = account.calendar.subscribe_to_streaming()
    threading.Timer(0.3, ews_world.drop_streaming_connections).start()
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        list(account.calendar.get_streaming_events(sub_id, connection_timeout=3))
    assert time.monotonic() - started < 2.5
    assert "Closed" not in str(info.value)
    deadline = time.monotonic() + 5  # the server counts the request once its handler has wound down
    while "GetStreamingEvents" not in ews_world.gate.counters() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ews_world.gate.counters()["GetStreamingEvents"]["StreamingConnectionDropped"] == 1


def test_expired_subscription(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    sub_id, watermark = account.calendar.subscribe_to_pull()
    ews_world.expire_subscriptions(ALICE)
    with pytest.raises(ErrorExpiredSubscription):
        list(account.calendar.get_events(sub_id, watermark))


def test_an_operation_answers_an_injected_error_response_message(
    ews_account: Callable[..., Account], ews_world: World
) -> None:
    # Exchange failing inside (ErrorInternalServerError): HTTP 200, ResponseClass="Error"; other operations go on.
    account = ews_account(ALICE)
    account.calendar  # noqa: B018
    ews_world.gate.fail_ews("ErrorInternalServerError", count=2, operation="Subscribe")
    assert list(account.calendar.all()) == []
    for _ in range(2):
        with pytest.raises(ErrorInternalServerError):
            account.calendar.subscribe_to_streaming()
    assert account.calendar.subscribe_to_streaming()
    assert ews_world.gate.counters()["Subscribe"] == {"ErrorInternalServerError": 2, "NoError": 1, "total": 3}
    assert ews_world.gate.settings().ews_errors == []


def test_mailbox_temporarily_unavailable(ews_account: Callable[..., Account], ews_world: World) -> None:
    account = ews_account(ALICE)
    account.calendar  # noqa: B018
    ews_world.set_mailbox_unavailable(ALICE)
    with pytest.raises(ErrorMailboxStoreUnavailable):
        list(account.calendar.view(start=datetime.now(UTC), end=datetime.now(UTC) + timedelta(days=1)))
    ews_world.set_mailbox_unavailable(ALICE, False)
    assert list(account.calendar.all()) == []
