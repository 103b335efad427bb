"""Access tokens for TrueConf Server's REST API.

Two ways to authenticate (reference 1.2): an OAuth2 application's client credentials, exchanged at
``POST /oauth2/v1/token`` for a server-wide token that expires (7 days by default), or the server's "Secret
key" used as a static, non-expiring token. An OAuth token is renewed when 80 % of its lifetime has passed,
so a long-running connector never presents an expired one, and again on demand when the server says it is
invalid (the app was re-created, the server restarted): the client calls :meth:`TokenSource.invalidate`
and asks once more.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from tc_calendar.clocks import Monotonic
from tc_calendar.trueconf._envelope import parse_error
from tc_calendar.trueconf.errors import TrueConfAuthError, TrueConfError, TrueConfUnavailableError

TOKEN_PATH = "/oauth2/v1/token"


class TokenSource(Protocol):
    """Where the client gets the token it sends."""

    @property
    def can_refresh(self) -> bool:
        """Whether asking again after :meth:`invalidate` can give a different token."""
        ...

    async def token(self, http: httpx.AsyncClient) -> str:
        """A token believed valid now."""
        ...

    def invalidate(self, token: str) -> None:
        """The server rejected ``token``; do not hand it out again."""
        ...


class StaticToken:
    """The server's Secret key (or any token the administrator manages); never refreshed."""

    can_refresh = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, http: httpx.AsyncClient) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        """Nothing to do: the same token is all we have, so the caller reports the rejection."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token and when it was obtained, on the injectable monotonic clock."""

    access_token: str
    obtained_at: float
    expires_in: float

    def fresh(self, now: float, refresh_ratio: float) -> bool:
        """True until ``refresh_ratio`` of the lifetime has passed (pure, so the policy is testable alone)."""
        return now < self.obtained_at + self.expires_in * refresh_ratio


class ClientCredentials:
    """OAuth2 client credentials grant against ``<url>/oauth2/v1/token``; one request at a time."""

    can_refresh = True

    def __init__(self, client_id: str, client_secret: str, *, clock: Monotonic = time.monotonic,
                 refresh_ratio: float = 0.8) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._refresh_ratio = refresh_ratio
        self._issued: IssuedToken | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """How many tokens were requested (for metrics and tests)."""

    async def token(self, http: httpx.AsyncClient) -> str:
        async with self._lock:
            issued = self._issued
            if issued is None or not issued.fresh(self._clock(), self._refresh_ratio):
                issued = self._issued = await self._fetch(http)
            return issued.access_token

    def invalidate(self, token: str) -> None:
        if self._issued is not None and self._issued.access_token == token:
            self._issued = None

    async def _fetch(self, http: httpx.AsyncClient) -> IssuedToken:
        self.fetches += 1
        form = {"grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._client_secret}
        try:
            reply = await http.post(TOKEN_PATH, data=form)
        except httpx.TransportError as exc:
            raise TrueConfUnavailableError(
                f"cannot reach TrueConf Server to get an access token ({type(exc).__name__}: {exc}); "
                "check trueconf.url and that the server is up") from exc
        if reply.status_code >= 500:
            raise TrueConfUnavailableError(
                f"TrueConf Server failed to issue an access token (HTTP {reply.status_code}); will retry",
                status=reply.status_code)
        if reply.status_code != 200:
            info = parse_error(reply.status_code, reply.content)
            raise TrueConfAuthError(
                f"TrueConf Server refused the OAuth2 client credentials (HTTP {reply.status_code}, "
                f"{info.reason or 'no reason'}: {info.message or 'no details'}); check trueconf.clientId and "
                "trueconf.clientSecret against the OAuth2 application in the TrueConf Server control panel",
                status=reply.status_code, reason=info.reason)
        try:
            body = reply.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 604800)
        except (ValueError, KeyError, TypeError) as exc:
            raise TrueConfError(f"TrueConf Server's token answer has no access_token: {reply.text[:200]!r}") from exc
        return IssuedToken(token, self._clock(), expires_in)
