"""Connections to one EWS endpoint: service accounts, authentication, TLS policy, impersonated mailboxes.

exchangelib keeps one ``Protocol`` (a pool of HTTP sessions) per (endpoint, credentials) and builds its sessions
in ``raw_session``. We wrap that method on our protocol instance so that every session it creates carries the
provider's TLS policy (``session.verify``: the system store, ``caBundle``, or the explicit and loudly logged
``verifyTls: false``), without touching exchangelib's class-wide defaults.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests
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
from exchangelib.errors import SessionPoolMinSizeReached
from exchangelib.folders import Calendar, Root
from exchangelib.properties import DistinguishedFolderId, Mailbox
from exchangelib.protocol import Protocol as ExchangeProtocol

from tc_calendar.providers._lean_session import LeanSession
from tc_calendar.providers._tls import PolicyAdapter

log = logging.getLogger(__name__)

AuthMode = Literal["auto", "ntlm", "basic"]


class Budget(Protocol):
    """A service account's slots for requests on the wire: a ``threading`` semaphore, or a ``multiprocessing``
    one when worker processes share the account."""

    def __enter__(self) -> Any: ...

    def __exit__(self, __type: Any, __value: Any, __traceback: Any, /) -> Any: ...


_AUTH_TYPES: Mapping[str, str | None] = {"auto": None, "ntlm": NTLM, "basic": BASIC}


def tls_policy(endpoint: str, *, verify: bool, ca_bundle: str | None) -> bool | str:
    """``requests``' ``verify`` value for ``endpoint``; turning verification off is logged as a warning."""
    if not verify:
        if endpoint.startswith("https:"):
            log.warning(
                "TLS certificate verification is OFF for %s (verifyTls: false): anyone on the network path can read "
                "the service account's password and the calendars; set caBundle instead",
                endpoint,
            )
        return False
    return ca_bundle or True


class _EwsAdapter(PolicyAdapter):
    """The provider's TLS policy, the account's budget of requests in flight, and answers parsed in one piece.

    Every request but a stream's waits for one of the service account's ``maxConcurrency`` slots and keeps it until
    its answer arrives, that is until Exchange has worked it out and sends it: what Exchange counts
    (``EWSMaxConcurrency``). The body is read after (requests reads it after the response hooks, which need the
    connection as it is: NTLM's handshake continues on it). The account's pool has more
    threads than slots (:attr:`EndpointSettings.threads`), so that while its requests are on the wire other
    threads write the next requests and parse the last answers, and a freed slot goes straight to a thread whose
    request is ready. A stream (GetStreamingEvents) hangs for minutes and has its own budget (``max_streams``).

    exchangelib parses every answer from ``response.iter_content()``, whose default chunk is one byte: its reader
    then grows a buffer byte by byte, which cost about a sixth of the CPU of an initial sync. An answer read in
    full (every request but GetStreamingEvents) is already in memory, so it is handed over as it is. A streamed
    answer keeps the default: a notification must be parsed as soon as its bytes arrive.
    """

    def __init__(self, verify: bool | str, in_flight: Budget, **kwargs: Any) -> None:
        self._in_flight = in_flight
        super().__init__(verify, **kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            return super().send(request, *args, **kwargs)
        with self._in_flight:
            response = super().send(request, *args, **kwargs)
        response.iter_content = _whole_by_default(response.iter_content)
        return response


def _whole_by_default(iter_content: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """``iter_content`` whose chunk, when the caller names none, is the whole (already read) body."""

    def whole(chunk_size: int | None = None, decode_unicode: bool = False) -> Iterator[Any]:
        return iter_content(chunk_size, decode_unicode)

    return whole


def _keep_pool_size() -> None:
    """Stands in for exchangelib's ``Protocol.decrease_poolsize``: the session pool is never shrunk.

    exchangelib shrinks the pool on every ErrorServerBusy (and ErrorExceededConnectionCount). It takes the pool's
    lock, waits for an idle session to close and, when none is idle and the pool may still grow, asks for a new one
    under that same lock: the thread deadlocks, and every later request of the service account that needs a
    session waits behind it. Here the pool's size is ours to bound (``maxConcurrency`` plus the streams), and
    throttling is handled by the sync's back-off (Exchange's BackOffMilliseconds). Raising "at the minimum size"
    makes exchangelib pass ErrorExceededConnectionCount on to us instead of retrying it at once.
    """
    raise SessionPoolMinSizeReached("the connector keeps its EWS session pool at its configured size")


def _apply_session_policy(protocol: Any, verify: bool | str, in_flight: Budget) -> None:
    """Make every session ``protocol`` creates from now on verify certificates as ``verify`` says and send its
    requests within ``in_flight`` (the account's budget)."""
    make_session = type(protocol).raw_session
    base = type(protocol).get_adapter()

    def raw_session(prefix: str, *args: Any, **kwargs: Any) -> Any:
        made = make_session(prefix, *args, **kwargs)
        if type(made) is not requests.Session:  # OAuth: exchangelib's own session class (not used for EWS here)
            session = made
        else:
            session = LeanSession()
            session.headers.update(made.headers)
            made.close()
        # Same pool settings as exchangelib's own adapter (one connection, no urllib3 retries).
        adapter = _EwsAdapter(
            verify,
            in_flight,
            pool_connections=base._pool_connections,
            pool_maxsize=base._pool_maxsize,
            max_retries=0,
            pool_block=base._pool_block,
        )
        session.mount(prefix, adapter)
        # requests looks up the proxy variables of the environment for every request it sends (a scan of the whole
        # environment each time, a few percent of an initial sync's CPU); they are read once per session instead.
        session.proxies.update(requests.utils.get_environ_proxies(prefix))
        session.trust_env = False
        return session

    # exchangelib calls self.raw_session(...) (create_session) and protocol.raw_session(...) (auth detection);
    # an instance attribute shadows the classmethod for both.
    protocol.raw_session = raw_session


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
    max_streams: int = 10
    """Streaming connections per service account (Exchange's default HangingConnectionLimit is 10)."""

    @property
    def threads(self) -> int:
        """Threads of a service account's pool: its ``max_concurrency`` requests on the wire, and half as many
        again writing requests and reading answers meanwhile (the budget itself is kept per request)."""
        return self.max_concurrency + max(1, self.max_concurrency // 2)


HANDLES_KEPT = 500
"""Mailboxes whose exchangelib handles a service account keeps (:meth:`ServiceAccount._handles_of`)."""

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

    Accounts and calendar folders are created lazily and kept for the mailboxes used last: building an ``Account``
    costs nothing on the wire once the protocol knows the server version, and the calendar folder is named by its
    distinguished id.
    """

    def __init__(self, endpoint: EndpointSettings, login: str, password: str, budget: Budget | None = None) -> None:
        """``budget``: the account's requests on the wire, when processes share it (``providers/workers.py``);
        None: a budget of this account alone."""
        self.endpoint = endpoint
        self.login = login
        self.config = Configuration(
            service_endpoint=endpoint.url,
            credentials=Credentials(username=login, password=password),
            auth_type=_AUTH_TYPES[endpoint.auth],
            # FailFast: exchangelib must not sleep in our pool threads on ErrorServerBusy; the runner backs off.
            retry_policy=FailFast(),
            # A session per pool thread; each open stream holds one of its own for as long as it lasts.
            max_connections=endpoint.threads + endpoint.max_streams,
            version=_version(endpoint.server_version),
        )
        self.protocol = ExchangeProtocol(config=self.config)
        _apply_session_policy(
            self.protocol,
            tls_policy(endpoint.url, verify=endpoint.verify_tls, ca_bundle=endpoint.ca_bundle),
            # The account's requests on the wire (streams aside): at most ``max_concurrency`` at a time.
            budget if budget is not None else threading.BoundedSemaphore(endpoint.max_concurrency),
        )
        self.protocol.decrease_poolsize = _keep_pool_size
        # Instance attributes shadow BaseProtocol's class defaults: HTTP timeout and exchangelib's internal wait.
        self.protocol.TIMEOUT = endpoint.timeout_seconds
        self.protocol.RETRY_WAIT = 1
        self._handles: OrderedDict[str, tuple[Account, Calendar]] = OrderedDict()
        self._lock = threading.Lock()

    def account(self, mailbox: str) -> Account:
        """The impersonated account of ``mailbox`` (blocking on first use: the server version is negotiated)."""
        return self._handles_of(mailbox)[0]

    def calendar(self, mailbox: str) -> Calendar:
        """A handle on the mailbox's default calendar folder: its distinguished id with the mailbox's address.

        Every request that names the folder (FindItem, SyncFolderItems, Subscribe) accepts that id, so the handle
        costs nothing on the wire: no GetFolder for its id.
        """
        return self._handles_of(mailbox)[1]

    def _handles_of(self, mailbox: str) -> tuple[Account, Calendar]:
        """The mailbox's account and calendar handles, kept for the :data:`HANDLES_KEPT` mailboxes used last.

        A mailbox's requests come close together (a sync's two or three, its Subscribe), and a pair costs about
        75 µs to build but 1.1 KB to keep: kept for every mailbox they would hold 11 MB of each process at 10,000
        mailboxes.
        """
        with self._lock:
            found = self._handles.get(mailbox)
            if found is not None:
                self._handles.move_to_end(mailbox)
                return found
        account = Account(
            primary_smtp_address=mailbox,
            config=self.config,
            autodiscover=False,
            access_type=IMPERSONATION,
            default_timezone=UTC,
        )
        folder = Calendar(
            _distinguished_id=DistinguishedFolderId(
                id=Calendar.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=mailbox)
            ),
            root=Root(account=account),
        )
        with self._lock:
            found = self._handles.setdefault(mailbox, (account, folder))
            while len(self._handles) > HANDLES_KEPT:
                self._handles.popitem(last=False)
            return found

    def forget(self, mailbox: str) -> None:
        """Drop cached handles, e.g. after the mailbox failed, so the next attempt starts clean."""
        with self._lock:
            self._handles.pop(mailbox, None)

    def close(self) -> None:
        """Close the pooled HTTP sessions of this account's protocol."""
        with self._lock:
            self._handles.clear()
        self.protocol.close()
        with contextlib.suppress(KeyError):  # exchangelib caches protocols process-wide; a closed one must go
            del ExchangeProtocol[self.config]
