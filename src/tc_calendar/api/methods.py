"""The API's methods: authentication first, then the read-only calendar calls and change subscriptions.

Handlers take a :class:`Session` (one per connection) and validated params, and return the JSON result or raise
an :class:`ApiError`. They never touch the socket: the connection module frames, limits and sends.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from tc_calendar.addresses import MailboxAddress
from tc_calendar.api import schemas as s
from tc_calendar.api.auth import (
    ALGORITHM,
    AuthThrottle,
    ServerCredentials,
    SessionTokens,
    check_password,
    compute_server_proof,
    new_challenge,
    verify_proof,
)
from tc_calendar.api.errors import (
    AlreadyAuthenticated,
    ApiError,
    AuthBackoff,
    BadProof,
    CursorExpired,
    InsecureTransport,
    InvalidParams,
    LoginFailed,
    MethodNotFound,
    NotAuthenticated,
    NotFound,
    OverAccountLimit,
    TooManySubscriptions,
    UnknownServerId,
    UnknownSubscription,
    UnknownUser,
)
from tc_calendar.api.limits import ApiLimits
from tc_calendar.api.ports import AttendeeDirectory, CalendarReader, ChangeLog, MailboxRegistry
from tc_calendar.api.wire import in_full_for_view, occurrence_for, response_of, takes_part, time_from_wire, time_to_wire
from tc_calendar.model import OccurrenceKey
from tc_calendar.sync.window import SyncWindow

PROTOCOL_VERSION = 1
AUTH_METHODS = frozenset({"auth.hello", "auth.prove", "auth.login", "auth.resume"})


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is on the other end: a TrueConf Server (by its server ID) or a web calendar user (by login).

    Both may read every synchronized user's calendar: a TrueConf Server serves all its users, and web users
    are the connector's administrators.
    """

    kind: Literal["server", "web"]
    name: str


class SubscriptionHost(Protocol):
    """The connection's side of subscriptions: it owns the pump tasks."""

    def start(self, users: frozenset[str] | None, cursor: int) -> str: ...

    def stop(self, subscription: str) -> int | None: ...

    def count(self) -> int: ...


@dataclass
class Session:
    address: str
    #: TLS, or a loopback peer: passwords may be sent.
    secure: bool
    subscriptions: SubscriptionHost
    principal: Principal | None = None
    challenge: str | None = None
    server_id: str | None = None
    nonce: str | None = None

    @property
    def view(self) -> str | None:
        """Whose private meetings this peer sees in full, as :func:`~tc_calendar.api.wire.in_full_for_view` reads
        it: ``"*"`` for a TrueConf Server, the login (an e-mail address) for a web user, ``None`` before sign-in.
        Peers with the same view may share notification frames."""
        if self.principal is None:
            return None
        if self.principal.kind == "server":
            return "*"
        return self.principal.name.casefold()

    def in_full_for(self, user: str) -> bool:
        """Whether this peer sees ``user``'s private meetings in full in ``user``'s calendar: a TrueConf Server
        shows each user their own calendar; a web user sees only their own (login = e-mail address) in full."""
        return in_full_for_view(self.view)(user)


def _window_doc(window: SyncWindow) -> dict[str, str]:
    return {
        "start": time_to_wire(window.start),
        "end": time_to_wire(window.end),
        "singlesEnd": time_to_wire(window.singles_end),
    }


@dataclass(frozen=True)
class ApiServices:
    """Everything the methods need, shared by all connections of one app."""

    calendar: CalendarReader
    changes: ChangeLog
    mailboxes: MailboxRegistry
    credentials: ServerCredentials
    web_users: Mapping[str, str]
    tokens: SessionTokens
    #: Back-off for web sign-in (``auth.login``, ``auth.resume``).
    throttle: AuthThrottle
    #: Back-off for TrueConf Server (``auth.hello``, ``auth.prove``), apart so guessing web passwords from an
    #: address does not lock the server out from it.
    server_throttle: AuthThrottle = field(default_factory=AuthThrottle)
    limits: ApiLimits = field(default_factory=ApiLimits)
    server_name: str = "tc-calendar"
    version: str = "0"
    #: The sync window now, for ``server.info`` (the web page says which months are not synchronized); None: unknown.
    sync_window: Callable[[], SyncWindow] | None = None
    #: Names and rooms for ``users.list``, from meetings' attendee lists (the store); None: addresses only.
    directory: AttendeeDirectory | None = None


P = TypeVar("P", bound=BaseModel)
Handler = Callable[[Session, Any], Awaitable[dict[str, Any]]]


def _validate(model: type[P], params: dict[str, Any]) -> P:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()[:10]]
        first = problems[0]
        raise InvalidParams(f"{first['field'] or 'params'}: {first['problem']}", {"errors": problems}) from None


def _time(name: str, text: str) -> datetime:
    try:
        return time_from_wire(text)
    except ValueError as exc:
        raise InvalidParams(f"{name}: {exc}") from None


def _email(text: str) -> str:
    email = MailboxAddress(text)
    if "@" not in email:
        raise InvalidParams(f"user: {text!r} is not an e-mail address")
    return email


class Methods:
    """Dispatch by method name; see docs/protocol.md for each method's contract."""

    def __init__(self, services: ApiServices, clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self._clock = clock
        self._handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            "auth.hello": (s.AuthHelloParams, self.auth_hello),
            "auth.prove": (s.AuthProveParams, self.auth_prove),
            "auth.login": (s.AuthLoginParams, self.auth_login),
            "auth.resume": (s.AuthResumeParams, self.auth_resume),
            "calendar.list": (s.CalendarListParams, self.calendar_list),
            "calendar.get": (s.CalendarGetParams, self.calendar_get),
            "changes.subscribe": (s.ChangesSubscribeParams, self.changes_subscribe),
            "changes.unsubscribe": (s.ChangesUnsubscribeParams, self.changes_unsubscribe),
            "server.info": (s.EmptyParams, self.server_info),
            "users.list": (s.EmptyParams, self.users_list),
        }

    async def call(self, session: Session, method: str, params: dict[str, Any]) -> dict[str, Any]:
        entry = self._handlers.get(method)
        if session.principal is None and method not in AUTH_METHODS:
            raise NotAuthenticated(f"authenticate first (auth.hello/auth.prove or auth.login), then call {method!r}")
        if entry is None:
            raise MethodNotFound(f"no method {method!r}")
        model, handler = entry
        return await handler(session, _validate(model, params))

    # ---- authentication ------------------------------------------------------------------------------------
    @staticmethod
    def _check_throttle(throttle: AuthThrottle, session: Session) -> None:
        wait = throttle.retry_after(session.address)
        if wait > 0:
            log.warning("sign-in refused from %s: blocked for %.0f s after repeated failures", session.address, wait)
            raise AuthBackoff(
                f"too many failed sign-ins from {session.address}; retry in {wait:.0f} s",
                {"retryAfter": round(wait, 3)},
            )

    @staticmethod
    def _fail(throttle: AuthThrottle, session: Session, error: ApiError, who: str = "") -> ApiError:
        """Count a failed sign-in against the peer's address, and log it with that address (never a secret)."""
        throttle.failure(session.address)
        log.warning("sign-in refused from %s%s: %s", session.address, f" ({who})" if who else "", error.message)
        return error

    def _ensure_anonymous(self, session: Session) -> None:
        if session.principal is not None:
            raise AlreadyAuthenticated(f"already signed in as {session.principal.kind} {session.principal.name!r}")

    async def auth_hello(self, session: Session, p: s.AuthHelloParams) -> dict[str, Any]:
        self._ensure_anonymous(session)
        throttle = self.services.server_throttle
        self._check_throttle(throttle, session)
        if self.services.credentials.secret_for(p.serverId) is None:
            unknown = UnknownServerId(f"server ID {p.serverId!r} is not in productWhitelist.tcs")
            raise self._fail(throttle, session, unknown)
        session.server_id, session.nonce, session.challenge = p.serverId, p.nonce, new_challenge()
        return {"challenge": session.challenge, "algorithm": ALGORITHM}

    async def auth_prove(self, session: Session, p: s.AuthProveParams) -> dict[str, Any]:
        self._ensure_anonymous(session)
        throttle = self.services.server_throttle
        self._check_throttle(throttle, session)
        challenge, server_id = session.challenge, session.server_id
        session.challenge = None  # one proof per challenge: no retries against the same nonce
        if challenge is None or server_id is None:
            raise self._fail(throttle, session, BadProof("call auth.hello first: there is no challenge to prove"))
        secret = self.services.credentials.secret_for(server_id)
        if secret is None or not verify_proof(secret, challenge, server_id, p.proof):
            raise self._fail(
                throttle, session, BadProof(f"wrong proof for server ID {server_id!r}: check the shared secret")
            )
        throttle.success(session.address)
        session.principal = Principal("server", server_id)
        server_proof = compute_server_proof(secret, session.nonce, challenge) if session.nonce else None
        return {
            "session": {"kind": "server", "name": server_id},
            "serverProof": server_proof,
            "server": self.services.server_name,
            "version": self.services.version,
        }

    def _web_session(self, session: Session, login: str) -> dict[str, Any]:
        self.services.throttle.success(session.address)
        session.principal = Principal("web", login)
        issued = self.services.tokens.issue(login)
        return {
            "session": {"kind": "web", "name": login},
            "token": issued.token,
            "expiresAt": time_to_wire(datetime.fromtimestamp(issued.expires_at, UTC)),
            "server": self.services.server_name,
            "version": self.services.version,
        }

    async def auth_login(self, session: Session, p: s.AuthLoginParams) -> dict[str, Any]:
        self._ensure_anonymous(session)
        if not session.secure:
            log.warning("sign-in refused from %s: web login %r over plain ws://", session.address, p.login)
            raise InsecureTransport("auth.login needs TLS (wss://) unless the browser is on this machine")
        self._check_throttle(self.services.throttle, session)
        if not check_password(self.services.web_users, p.login, p.password):
            wrong = LoginFailed("wrong login or password")
            raise self._fail(self.services.throttle, session, wrong, f"web login {p.login!r}")
        return self._web_session(session, p.login)

    async def auth_resume(self, session: Session, p: s.AuthResumeParams) -> dict[str, Any]:
        self._ensure_anonymous(session)
        self._check_throttle(self.services.throttle, session)
        try:
            login = self.services.tokens.verify(p.token)
        except LoginFailed as exc:
            raise self._fail(self.services.throttle, session, exc) from None
        if login not in self.services.web_users:
            raise self._fail(self.services.throttle, session, LoginFailed("this web user no longer exists"))
        return self._web_session(session, login)

    # ---- calendar ------------------------------------------------------------------------------------------
    async def _request_user(self, email: str) -> Literal["synced", "queued"]:
        status = await self.services.mailboxes.request_mailbox(email)
        if status == "over_limit":
            raise OverAccountLimit(
                f"{email} is over the licensed number of synchronized accounts; it is queued and will be synced "
                "when room appears",
                {"user": email},
            )
        if status == "unknown":
            raise UnknownUser(f"no mailbox {email} is known to the calendar providers", {"user": email})
        return status

    async def calendar_list(self, session: Session, p: s.CalendarListParams) -> dict[str, Any]:
        user = _email(p.user)
        start, end = _time("start", p.start), _time("end", p.end)
        if end <= start:
            raise InvalidParams("end must be after start")
        if end - start > timedelta(days=self.services.limits.max_range_days):
            raise InvalidParams(f"the range may span at most {self.services.limits.max_range_days} days")
        status = await self._request_user(user)
        view = await self.services.calendar.load_view(user, start, end)
        in_full = session.in_full_for(user)
        return {
            "user": user,
            "status": status,
            "occurrences": [occurrence_for(occurrence, response, in_full) for occurrence, response in view],
        }

    async def calendar_get(self, session: Session, p: s.CalendarGetParams) -> dict[str, Any]:
        recurrence_id = _time("recurrenceId", p.recurrenceId) if p.recurrenceId is not None else None
        key = OccurrenceKey(p.uid, recurrence_id)
        occurrence = await self.services.calendar.get_occurrence(key)
        if occurrence is None:
            raise NotFound(f"no occurrence uid={p.uid!r} recurrenceId={p.recurrenceId!r}")
        user = _email(p.user) if p.user else None
        my_response = response_of(occurrence, user) if user else None
        in_full = user is not None and session.in_full_for(user) and takes_part(occurrence, user)
        return {"occurrence": occurrence_for(occurrence, my_response, in_full)}

    # ---- changes -------------------------------------------------------------------------------------------
    async def changes_subscribe(self, session: Session, p: s.ChangesSubscribeParams) -> dict[str, Any]:
        if session.subscriptions.count() >= self.services.limits.max_subscriptions:
            raise TooManySubscriptions(f"at most {self.services.limits.max_subscriptions} subscriptions per connection")
        users = None if p.users == "*" else frozenset(_email(u) for u in p.users)
        latest = await self.services.changes.latest_cursor()
        cursor = latest if p.cursor is None else p.cursor
        if cursor > latest:
            raise InvalidParams(
                f"cursor {cursor} is ahead of the change log (latest {latest}): the log was reset; "
                "reload the calendar and subscribe without a cursor",
                {"latest": latest},
            )
        pruned = await self.services.changes.pruned_through()
        if cursor < pruned:
            raise CursorExpired(
                f"changes after cursor {cursor} are no longer kept (the log keeps them for a limited time): "
                "reload the calendar and subscribe without a cursor",
                {"latest": latest},
            )
        subscription = session.subscriptions.start(users, cursor)
        return {"subscription": subscription, "cursor": cursor}

    async def changes_unsubscribe(self, session: Session, p: s.ChangesUnsubscribeParams) -> dict[str, Any]:
        cursor = session.subscriptions.stop(p.subscription)
        if cursor is None:
            raise UnknownSubscription(f"no subscription {p.subscription!r} on this connection")
        return {"subscription": p.subscription, "cursor": cursor}

    # ---- server --------------------------------------------------------------------------------------------
    async def server_info(self, session: Session, p: s.EmptyParams) -> dict[str, Any]:
        mailboxes = await self.services.mailboxes.list_mailboxes()
        counts: dict[str, int] = dict(Counter(str(m.state) for m in mailboxes))
        counts["total"] = len(mailboxes)
        return {
            "name": self.services.server_name,
            "version": self.services.version,
            "protocol": PROTOCOL_VERSION,
            "cursor": await self.services.changes.latest_cursor(),
            "mailboxes": counts,
            "window": _window_doc(self.services.sync_window()) if self.services.sync_window else None,
        }

    async def users_list(self, session: Session, p: s.EmptyParams) -> dict[str, Any]:
        mailboxes = await self.services.mailboxes.list_mailboxes()
        directory = self.services.directory
        known = await directory.attendee_directory([m.email for m in mailboxes]) if directory else {}
        return {
            "users": [
                {
                    "email": m.email,
                    "name": known.get(m.email, ("", False))[0] or None,
                    "kind": "room" if known.get(m.email, ("", False))[1] else "person",
                    "state": str(m.state),
                    "origin": str(m.origin),
                    "lastSuccessAt": time_to_wire(m.last_success_at) if m.last_success_at else None,
                    "lastError": m.last_error,
                    "eventCount": m.event_count,
                }
                for m in mailboxes
            ]
        }
