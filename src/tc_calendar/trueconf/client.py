"""TrueConf Server REST client: the few operations the connector needs, over v3.x or v4.

Every call goes through :meth:`TrueConfClient._call`, which adds the token, retries exactly once with a new
token when the server says the token is invalid, and turns every failure into a :class:`TrueConfError`
subclass. The client never retries on 5xx or connection errors itself: it raises
:class:`TrueConfUnavailableError` and the caller (the launcher's scheduler) decides when to try again.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from tc_calendar.clocks import Monotonic
from tc_calendar.trueconf._envelope import error_for, is_token_rejected, parse_error
from tc_calendar.trueconf.auth import ClientCredentials, StaticToken, TokenSource
from tc_calendar.trueconf.errors import TrueConfAuthError, TrueConfError, TrueConfUnavailableError
from tc_calendar.trueconf.flavour import ApiFlavour, flavour_for
from tc_calendar.trueconf.models import Conference, Invitation, Participant, TrueConfUser

if TYPE_CHECKING:
    from tc_calendar.config import TrueConfSettings

DEFAULT_TIMEOUT = 15.0
USERS_PAGE_SIZE = 200


def tls_verify(verify: bool, ca_bundle: str | Path | None) -> bool | ssl.SSLContext:
    """What httpx should verify the server with: a CA bundle file if given, else the system store or nothing."""
    if ca_bundle is None:
        return verify
    path = Path(ca_bundle)
    if not path.is_file():
        raise TrueConfError(f"trueconf.caBundle {str(path)!r} is not a readable file; give the PEM file of the CA "
                            "that signed TrueConf Server's certificate")
    try:
        return ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise TrueConfError(f"trueconf.caBundle {str(path)!r} is not a PEM CA bundle: {exc}") from exc


class TrueConfClient:
    """An open connection pool to one TrueConf Server; use as ``async with`` or call :meth:`aclose`."""

    def __init__(
        self,
        url: str,
        auth: TokenSource,
        *,
        api_version: str = "v4",
        verify: bool | ssl.SSLContext = True,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.flavour: ApiFlavour = flavour_for(api_version)
        self.auth = auth
        if url.startswith("http://"):
            verify = False  # no TLS to verify; spares loading the system CA store for every client
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), verify=verify, timeout=timeout,
                                       transport=transport, headers={"Accept": "application/json"})

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        api_version: str = "v4",
        verify: bool = True,
        ca_bundle: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Monotonic | None = None,
    ) -> TrueConfClient:
        """Build a client from plain settings: OAuth2 client credentials if given, else a static token."""
        auth: TokenSource
        if client_id is not None and client_secret is not None:
            auth = ClientCredentials(client_id, client_secret) if clock is None else ClientCredentials(
                client_id, client_secret, clock=clock)
        elif token is not None:
            auth = StaticToken(token)
        else:
            raise TrueConfError("trueconf needs clientId and clientSecret (an OAuth2 application) or token")
        return cls(url, auth, api_version=api_version, verify=tls_verify(verify, ca_bundle), timeout=timeout)

    @classmethod
    def from_settings(cls, settings: TrueConfSettings, *, clock: Monotonic | None = None) -> TrueConfClient:
        """Build a client from the ``trueconf`` section of ``config.json``."""
        return cls.connect(
            settings.url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value() if settings.client_secret else None,
            token=settings.token.get_secret_value() if settings.token else None,
            api_version=settings.api_version,
            verify=settings.verify_tls,
            ca_bundle=settings.ca_bundle,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> TrueConfClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    # ---- operations ----------------------------------------------------------------------------------------

    async def server_info(self) -> dict[str, str]:
        """``{"version", "name"}`` from the unauthenticated ``GET /api/v4/server`` (TrueConf Server 5.5.3+).

        Checks that ``trueconf.url`` points at a TrueConf Server without spending a token; older servers
        answer 404, which is reported as a :class:`TrueConfRequestError`.
        """
        try:
            reply = await self._http.get("/api/v4/server")
        except httpx.TransportError as exc:
            raise TrueConfUnavailableError(
                f"cannot reach TrueConf Server at {self._http.base_url} ({type(exc).__name__}: {exc or 'no details'})"
            ) from exc
        if reply.status_code >= 400:
            raise error_for(parse_error(reply.status_code, reply.content), "report its version")
        product = _object(_json_object(reply, "report its version"), "product")
        return {"version": str(product.get("version", "")), "name": str(product.get("display_name", ""))}

    async def get_conference(self, cid: str) -> Conference:
        body = await self._call("GET", self.flavour.conference_path(cid), f"read conference {cid}", cid=cid)
        return Conference.from_json(_object(body, "conference"))

    async def run_conference(self, cid: str) -> str:
        """Start the conference; returns the state the server reports (``"running"``)."""
        body = await self._call("POST", self.flavour.conference_path(cid, "/run"), f"start conference {cid}",
                                cid=cid)
        return str(body.get("state", "running"))

    async def stop_conference(self, cid: str) -> str:
        body = await self._call("POST", self.flavour.conference_path(cid, "/stop"), f"stop conference {cid}",
                                cid=cid)
        return str(body.get("state", "stopped"))

    async def list_invitations(self, cid: str) -> list[Invitation]:
        body = await self._call("GET", self.flavour.conference_path(cid, "/invitations"),
                                f"list the invitations of conference {cid}", cid=cid)
        return [Invitation.from_json(i) for i in body.get("invitations") or () if isinstance(i, dict)]

    async def add_invitation(self, cid: str, user_id: str, display_name: str | None = None) -> Invitation:
        body = await self._call("POST", self.flavour.conference_path(cid, "/invitations"),
                                f"invite {user_id} to conference {cid}", cid=cid,
                                json=self.flavour.invitation_body(user_id, display_name))
        return Invitation.from_json(_object(body, "invitation"))

    async def remove_invitation(self, cid: str, inv_id: str) -> None:
        await self._call("DELETE", self.flavour.conference_path(cid, f"/invitations/{inv_id}"),
                         f"remove invitation {inv_id} from conference {cid}", cid=cid,
                         bare_404_is_conference=False)

    async def list_participants(self, cid: str) -> list[Participant]:
        body = await self._call("GET", self.flavour.conference_path(cid, "/participants"),
                                f"list the participants of conference {cid}", cid=cid)
        return [Participant.from_json(p) for p in body.get("participants") or () if isinstance(p, dict)]

    async def invite_now(self, cid: str, user_ids: tuple[str, ...]) -> None:
        """Call users into the running conference, leaving its scheduled list as it is."""
        for request in self.flavour.live_invites(cid, user_ids):
            await self._call("POST", request.path, f"call {', '.join(user_ids)} into conference {cid}", cid=cid,
                             json=request.body)

    async def iter_users(self, page_size: int = USERS_PAGE_SIZE) -> AsyncIterator[TrueConfUser]:
        """Every user of the server, following ``next_page_id`` until it is -1."""
        page_id: int | None = None
        seen_pages: set[int] = set()
        while True:
            params: dict[str, int] = {"page_size": page_size}
            if page_id is not None:
                params["page_id"] = page_id
            body = await self._call("GET", f"{self.flavour.prefix}/users", "list users", params=params)
            for user in body.get("users") or ():
                if isinstance(user, dict):
                    yield TrueConfUser.from_json(user)
            next_page = body.get("next_page_id", -1)
            if not isinstance(next_page, int) or next_page < 0 or next_page in seen_pages:
                return
            seen_pages.add(next_page)
            page_id = next_page

    async def get_user(self, uid: str) -> TrueConfUser:
        body = await self._call("GET", f"{self.flavour.prefix}/users/{uid}", f"read user {uid}")
        return TrueConfUser.from_json(_object(body, "user"))

    # ---- the one request path ------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, operation: str, *, cid: str | None = None,
                    json: dict[str, Any] | None = None, params: dict[str, int] | None = None,
                    bare_404_is_conference: bool = True) -> dict[str, Any]:
        """Send one request; on a rejected token get a new one and send it once more."""
        for attempt in (1, 2):
            token = await self.auth.token(self._http)
            reply = await self._send(method, path, operation, token, json, params)
            if reply.status_code < 400:
                return _json_object(reply, operation)
            info = parse_error(reply.status_code, reply.content)
            if attempt == 1 and is_token_rejected(info) and self.auth.can_refresh:
                self.auth.invalidate(token)
                continue
            error = error_for(info, operation, conference_id=cid, bare_404_is_conference=bare_404_is_conference)
            if isinstance(error, TrueConfAuthError) and is_token_rejected(info) and attempt == 2:
                error = TrueConfAuthError(f"{error} (a freshly issued token was rejected too)",
                                          status=error.status, reason=error.reason)
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, operation: str, token: str, json: dict[str, Any] | None,
                    params: dict[str, int] | None) -> httpx.Response:
        query: dict[str, str | int] = dict(params or {})
        headers: dict[str, str] = {}
        if self.flavour.token_in_query:
            query["access_token"] = token
        else:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return await self._http.request(method, path, params=query, headers=headers, json=json)
        except httpx.TransportError as exc:
            raise TrueConfUnavailableError(
                f"cannot reach TrueConf Server to {operation} ({type(exc).__name__}: {exc or 'no details'}); "
                "check trueconf.url, the network and TLS settings (trueconf.verifyTls, trueconf.caBundle)",
                maybe_done=not isinstance(exc, _NEVER_SENT)) from exc


#: Transport failures before the request left: TrueConf Server cannot have acted on it.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _json_object(reply: httpx.Response, operation: str) -> dict[str, Any]:
    try:
        body = reply.json() if reply.content else {}
    except ValueError as exc:
        raise TrueConfUnavailableError(
            f"TrueConf Server answered the request to {operation} with something that is not JSON "
            f"(HTTP {reply.status_code}); is trueconf.url the server's web address?", status=reply.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise TrueConfError(f"TrueConf Server's answer to {operation} is not a JSON object")
    return body


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise TrueConfError(f"TrueConf Server's answer has no {key!r} object: {str(body)[:200]}")
    return value
