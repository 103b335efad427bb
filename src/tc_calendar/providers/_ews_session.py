"""Connections to one EWS endpoint: service accounts, authentication, TLS policy, impersonated mailboxes.

exchangelib caches one ``Protocol`` (session pool) per (endpoint, credentials) and builds HTTP adapters from a
class attribute, so TLS verification cannot be set per ``Configuration``. We install, once, an adapter class
that looks the endpoint up in a small registry and applies that endpoint's policy (verify, CA bundle, or the
explicit and loudly logged ``verifyTls: false``). Everything else is per instance.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests.adapters
from exchangelib import (
    BASIC,
    IMPERSONATION,
    NTLM,
    UTC,
    Account,
    Build,
    Configuration,
    Credentials,
    FailFast,
    Version,
)
from exchangelib.folders import Calendar, Root
from exchangelib.protocol import BaseProtocol

log = logging.getLogger(__name__)

AuthMode = Literal["auto", "ntlm", "basic"]
_AUTH_TYPES: Mapping[str, str | None] = {"auto": None, "ntlm": NTLM, "basic": BASIC}

_tls_policies: dict[str, bool | str] = {}
_tls_lock = threading.Lock()


class _EndpointTlsAdapter(requests.adapters.HTTPAdapter):
    """Applies the TLS policy registered for the request's endpoint; other URLs keep requests' default."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        url = str(request.url or "")
        for prefix, verify in _tls_policies.items():
            if url.startswith(prefix):
                kwargs["verify"] = verify
                break
        return super().send(request, *args, **kwargs)


def register_tls_policy(endpoint: str, *, verify: bool, ca_bundle: str | None) -> None:
    """Remember how to verify ``endpoint``'s certificate; ``verify=False`` is logged as a warning every time."""
    policy: bool | str = (ca_bundle or True) if verify else False
    if not verify and endpoint.startswith("https:"):
        log.warning(
            "TLS certificate verification is OFF for %s (verifyTls: false): anyone on the network path can read "
            "the service account's password and the calendars; set caBundle instead",
            endpoint,
        )
    with _tls_lock:
        _tls_policies[endpoint] = policy
        if BaseProtocol.HTTP_ADAPTER_CLS is not _EndpointTlsAdapter:
            # exchangelib reads this class attribute whenever it creates a session (BaseProtocol.get_adapter).
            BaseProtocol.HTTP_ADAPTER_CLS = _EndpointTlsAdapter


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """What the adapter needs of one ``calendarProviders`` entry."""

    url: str
    auth: AuthMode = "auto"
    verify_tls: bool = True
    ca_bundle: str | None = None
    timeout_seconds: float = 30.0
    max_concurrency: int = 10
    server_version: str | None = None
    """``Exchange2013``, ``Exchange2016`` or ``Exchange2019`` to skip exchangelib's version probe; None: probe."""


_BUILDS: Mapping[str, Build] = {
    "exchange2013": Build(15, 0),
    "exchange2013_sp1": Build(15, 0, 847),
    "exchange2016": Build(15, 1),
    "exchange2019": Build(15, 2),
}


def _version(name: str | None) -> Version | None:
    if name is None:
        return None
    try:
        return Version(build=_BUILDS[name.lower()])
    except KeyError:
        raise ValueError(f"unknown Exchange version {name!r}; expected one of {', '.join(_BUILDS)}") from None


class ServiceAccount:
    """One impersonation service account on one endpoint: its exchangelib configuration and its mailboxes.

    Accounts and calendar folders are created lazily and cached: building an ``Account`` costs nothing on the
    wire once the protocol knows the server version, and the calendar folder costs one GetFolder per mailbox per
    process (its id is needed to subscribe).
    """

    def __init__(self, endpoint: EndpointSettings, login: str, password: str) -> None:
        self.endpoint = endpoint
        self.login = login
        self.config = Configuration(
            service_endpoint=endpoint.url,
            credentials=Credentials(username=login, password=password),
            auth_type=_AUTH_TYPES[endpoint.auth],
            # FailFast: exchangelib must not sleep in our pool threads on ErrorServerBusy; the runner backs off.
            retry_policy=FailFast(),
            max_connections=endpoint.max_concurrency,
            version=_version(endpoint.server_version),
        )
        self._accounts: dict[str, Account] = {}
        self._calendars: dict[str, Calendar] = {}
        self._lock = threading.Lock()

    def _tune_protocol(self, account: Account) -> None:
        protocol = account.protocol
        # Instance attributes shadow BaseProtocol's class defaults: HTTP timeout and exchangelib's internal wait.
        protocol.TIMEOUT = self.endpoint.timeout_seconds
        protocol.RETRY_WAIT = 1

    def account(self, mailbox: str) -> Account:
        """The impersonated account of ``mailbox`` (blocking on first use: the server version is negotiated)."""
        with self._lock:
            found = self._accounts.get(mailbox)
        if found is not None:
            return found
        account = Account(
            primary_smtp_address=mailbox,
            config=self.config,
            autodiscover=False,
            access_type=IMPERSONATION,
            default_timezone=UTC,
        )
        self._tune_protocol(account)
        with self._lock:
            return self._accounts.setdefault(mailbox, account)

    def calendar(self, mailbox: str) -> Calendar:
        """The mailbox's default calendar folder, by its distinguished id (one GetFolder, then cached)."""
        with self._lock:
            found = self._calendars.get(mailbox)
        if found is not None:
            return found
        account = self.account(mailbox)
        # Root(account=...) is only a handle; Calendar.get_distinguished asks for the calendar alone, so we never
        # walk the folder hierarchy (account.calendar would fetch the root and list its folders).
        folder = Calendar.get_distinguished(root=Root(account=account))
        with self._lock:
            return self._calendars.setdefault(mailbox, folder)

    def forget(self, mailbox: str) -> None:
        """Drop cached handles, e.g. after the mailbox failed, so the next attempt starts clean."""
        with self._lock:
            self._accounts.pop(mailbox, None)
            self._calendars.pop(mailbox, None)

    def close(self) -> None:
        """Close the pooled HTTP sessions of this account's protocol."""
        with self._lock:
            accounts = list(self._accounts.values())
            self._accounts.clear()
            self._calendars.clear()
        if accounts:
            accounts[0].protocol.close()
