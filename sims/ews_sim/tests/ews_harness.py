"""Test harness for the EWS simulator: the standard world, and exchangelib accounts pointed at a simulator.

Imported by conftest.py and by tests (the module name is unique across the repository's test directories).
"""

from __future__ import annotations

from typing import Any

import requests
from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    Build,
    Configuration,
    Credentials,
    FailFast,
    Version,
)

from ews_sim.server import EwsSimulator
from ews_sim.world import World

SERVICE_LOGIN = "svc-trueconf"
SERVICE_PASSWORD = "S3rvice!pass"
PLAIN_LOGIN = "svc-plain"
PLAIN_PASSWORD = "Pl4in!pass"
ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
USER_PASSWORD = "User!pass1"
EXCHANGE_2016 = Version(build=Build(15, 1, 2507, 39))


def make_world() -> World:
    """Service accounts svc-trueconf (ApplicationImpersonation) and svc-plain (none); mailboxes alice and bob
    (Europe/Berlin) and carol (America/New_York), carol being alice's delegate. Users log in with their SMTP
    address and USER_PASSWORD."""
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    world.add_service_account(PLAIN_LOGIN, PLAIN_PASSWORD, impersonation=False)
    world.add_mailbox(ALICE, "Alice Archer", "Europe/Berlin", password=USER_PASSWORD)
    world.add_mailbox(BOB, "Bob Baker", "Europe/Berlin", password=USER_PASSWORD)
    world.add_mailbox(CAROL, "Carol Cook", "America/New_York", password=USER_PASSWORD)
    world.grant_delegate(ALICE, CAROL)
    return world


def exchangelib_account(
    sim: EwsSimulator,
    smtp: str,
    *,
    login: str = SERVICE_LOGIN,
    password: str = SERVICE_PASSWORD,
    auth_type: str = BASIC,
    access_type: str = IMPERSONATION,
    **config: Any,
) -> Account:
    """An unmodified exchangelib Account for ``smtp`` on ``sim`` (FailFast unless ``retry_policy`` is given)."""
    cfg = Configuration(
        service_endpoint=sim.url,
        credentials=Credentials(login, password),
        auth_type=auth_type,
        version=EXCHANGE_2016,
        retry_policy=config.pop("retry_policy", FailFast()),
        **config,
    )
    return Account(primary_smtp_address=smtp, config=cfg, autodiscover=False, access_type=access_type)


def soap_call(
    sim: EwsSimulator,
    body_xml: str,
    *,
    mailbox: str | None = ALICE,
    version: str = "Exchange2016",
    login: str = SERVICE_LOGIN,
    password: str = SERVICE_PASSWORD,
) -> tuple[int, bytes]:
    """POST one hand-written EWS request (the element inside ``s:Body``, prefixes m: and t:) with Basic auth and
    impersonation of ``mailbox``; returns (HTTP status, body). For checks exchangelib cannot express."""
    impersonation = (
        "<t:ExchangeImpersonation><t:ConnectingSID>"
        f"<t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
        if mailbox
        else ""
    )
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"'
        ' xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
        f'<s:Header><t:RequestServerVersion Version="{version}"/>{impersonation}</s:Header>'
        f"<s:Body>{body_xml}</s:Body></s:Envelope>"
    )
    resp = requests.post(
        sim.url,
        data=envelope.encode(),
        auth=(login, password),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )
    return resp.status_code, resp.content
