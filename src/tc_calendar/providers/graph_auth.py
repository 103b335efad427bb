"""App-only access tokens for Microsoft Graph: OAuth 2.0 client credentials through msal.

The app registration proves itself with a client secret or with a certificate (a client assertion signed with its
private key, identified by the certificate's SHA-1 thumbprint). Tokens are kept here and renewed shortly before
they expire, so the Graph client asks :meth:`GraphTokenSource.access_token` before every request at no cost; a
request answered 401 calls :meth:`GraphTokenSource.invalidate` and asks again.

msal is synchronous (it uses ``requests``), so its calls run in a worker thread and never block the event loop.
Every failure becomes an :class:`~tc_calendar.providers.base.AuthError` whose message names the setting to fix;
Microsoft Entra's AADSTS codes are translated once, here. Secrets and tokens never appear in a message or a log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msal
import requests

from tc_calendar.config.certificates import CertificateFileError, read_certificate_credential
from tc_calendar.providers._tls import PolicyAdapter
from tc_calendar.providers.base import AuthError, TransientError

if TYPE_CHECKING:
    from tc_calendar.config.models import GraphProviderSettings

log = logging.getLogger("tc_calendar.providers.graph_auth")

RENEW_BEFORE_SECONDS = 240.0
"""Renew a token this long before it expires; a token that lives shorter than twice this is renewed at half its
lifetime. It is inside msal's own window (msal treats a token with under 5 minutes left as expired), so at that
moment msal requests a new token instead of handing back the one it cached."""

FAILURE_HOLD_SECONDS = 10.0
"""After a failed token request, callers get the same error for this long instead of each sending a request
(thousands of mailbox loops share one token source)."""


@dataclass(frozen=True, slots=True)
class GraphEndpoints:
    """Where a national cloud signs in apps and serves Graph; both are ``https://host`` without a path."""

    authority_host: str
    graph_host: str
    resource: str
    """The Graph resource tokens are issued for (``scope`` is ``<resource>/.default``); an overridden
    ``graph_host`` (a proxy, a test server) still serves the cloud's resource."""

    @classmethod
    def for_cloud(cls, cloud: str) -> GraphEndpoints:
        try:
            return CLOUDS[cloud]
        except KeyError:
            raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}") from None

    @classmethod
    def from_settings(cls, settings: GraphProviderSettings) -> GraphEndpoints:
        """The cloud's hosts, with ``authorityHost`` and ``graphHost`` overriding them when given."""
        cloud = cls.for_cloud(settings.cloud)
        return cls(
            authority_host=settings.authority_host or cloud.authority_host,
            graph_host=settings.graph_host or cloud.graph_host,
            resource=cloud.resource,
        )

    @property
    def scope(self) -> str:
        return f"{self.resource}/.default"

    @property
    def api_root(self) -> str:
        """Base of Graph v1.0 requests, e.g. ``https://graph.microsoft.com/v1.0``."""
        return f"{self.graph_host}/v1.0"

    def authority(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}"


CLOUDS: Mapping[str, GraphEndpoints] = {
    "global": GraphEndpoints(
        "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://graph.microsoft.com"
    ),
    "usgov": GraphEndpoints(
        "https://login.microsoftonline.us", "https://graph.microsoft.us", "https://graph.microsoft.us"
    ),
    "china": GraphEndpoints(
        "https://login.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn",
    ),
}
"""Microsoft's national clouds: global, US Government (GCC High), and China operated by 21Vianet."""


class AuthorityUnreachableError(AuthError, TransientError):
    """The sign-in host could not be reached or failed (network, TLS, 5xx): an admin may have to act (firewall,
    proxy, ``caBundle``), but it may also pass, so callers retry it with back-off like any transient error."""


@dataclass(frozen=True, slots=True)
class GraphCredential:
    """The app registration's identity; ``secret`` or ``certificate_path`` + ``thumbprint``."""

    tenant_id: str
    client_id: str
    secret: str | None = None
    certificate_path: str | None = None
    thumbprint: str | None = None

    def __repr__(self) -> str:
        how = "certificate" if self.certificate_path else "secret"
        return f"GraphCredential(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, {how})"


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float
    expires_at: float


class GraphTokenSource:
    """Access tokens for one app registration in one tenant, shared by every mailbox of a Graph provider."""

    def __init__(
        self,
        credential: GraphCredential,
        endpoints: GraphEndpoints,
        *,
        verify: bool | str = True,
        timeout_seconds: float = 30.0,
        label: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        failure_hold_seconds: float = FAILURE_HOLD_SECONDS,
    ) -> None:
        self.credential = credential
        self.endpoints = endpoints
        self.label = label or f"Graph app {credential.client_id} in tenant {credential.tenant_id}"
        self._verify = verify
        self._timeout = timeout_seconds
        self._clock = clock
        self._failure_hold = failure_hold_seconds
        self._app: msal.ConfidentialClientApplication | None = None
        self._session: requests.Session | None = None
        self._token: _Token | None = None
        self._failure: tuple[float, AuthError] | None = None
        self._lock = asyncio.Lock()
        self.attempts = 0
        """Times a token was asked of msal (tokens held here are not counted); for tests and metrics."""

    @classmethod
    def from_settings(
        cls, settings: GraphProviderSettings, *, label: str | None = None, **options: Any
    ) -> GraphTokenSource:
        """Build from a ``"type": "graph"`` entry of ``calendarProviders``."""
        credential = GraphCredential(
            tenant_id=settings.tenant_id,
            client_id=settings.client_id,
            secret=settings.client_secret.get_secret_value() if settings.client_secret is not None else None,
            certificate_path=settings.certificate.file if settings.certificate is not None else None,
            thumbprint=settings.certificate.thumbprint if settings.certificate is not None else None,
        )
        verify: bool | str = settings.verify_tls
        if settings.verify_tls and settings.ca_bundle:
            verify = settings.ca_bundle
        if not settings.verify_tls:
            log.warning(
                "TLS certificate verification is OFF for the Graph app %s (verifyTls: false): anyone on the network "
                "path can take its tokens and read the calendars; set caBundle instead", settings.client_id,
            )
        return cls(
            credential,
            GraphEndpoints.from_settings(settings),
            verify=verify,
            timeout_seconds=settings.timeout_seconds,
            label=label,
            **options,
        )

    async def access_token(self) -> str:
        """A valid access token for Graph; requests a new one only when none is held or it is about to expire."""
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.value
        async with self._lock:
            token = self._token
            now = self._clock()
            if token is not None and now < token.renew_at:
                return token.value
            # A token that failed to renew is still good until it expires: Entra being briefly unreachable must
            # not stop the mailboxes.
            usable = token if token is not None and now < token.expires_at else None
            if self._failure is not None and now < self._failure[0]:
                if usable is not None:
                    return usable.value
                raise self._failure[1]
            try:
                self._token = await asyncio.to_thread(self._acquire)
            except AuthError as exc:
                self._failure = (self._clock() + self._failure_hold, exc)
                if usable is not None:
                    log.warning("%s: renewing the Graph token failed, using the current one until it expires: %s",
                                self.label, exc)
                    return usable.value
                raise
            self._failure = None
            return self._token.value

    def invalidate(self) -> None:
        """Forget the held token (Graph answered 401 with it), so the next call requests a new one."""
        self._token = None
        self._failure = None
        app = self._app
        if app is not None:
            cache = app.token_cache
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(entry)

    # ------------------------------------------------------------------------------------------ in the thread

    def _acquire(self) -> _Token:
        """Runs in a worker thread: msal's discovery and token requests are blocking."""
        started = self._clock()
        self.attempts += 1
        try:
            app = self._application()
            result = app.acquire_token_for_client(scopes=[self.endpoints.scope])
        except AuthError:
            raise
        except requests.exceptions.SSLError as exc:
            reason = _TLS_REASON.search(str(exc))
            raise AuthorityUnreachableError(
                f"{self.label}: the TLS certificate of {self.endpoints.authority_host} is not trusted "
                f"({reason.group(1).strip() if reason else _first_line(exc)}); set caBundle to the CA that issued it "
                "(for example a TLS-inspecting proxy's CA)"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise AuthorityUnreachableError(
                f"{self.label}: cannot reach {self.endpoints.authority_host} ({type(exc).__name__}); check DNS, "
                "firewall and proxy for outbound HTTPS to it, and authorityHost and cloud"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise AuthorityUnreachableError(
                f"{self.label}: {self.endpoints.authority_host} failed: {_first_line(exc)}"
            ) from None
        except ValueError as exc:  # msal: the tenant's OpenID configuration could not be read
            raise self._discovery_error(exc) from None
        if "access_token" not in result:
            raise self._token_error(result)
        lifetime = float(result.get("expires_in") or 3600)
        margin = min(RENEW_BEFORE_SECONDS, lifetime / 2)
        log.debug("%s: Graph token acquired (%s), valid for %.0f s", self.label,
                  result.get("token_source", "identity_provider"), lifetime)
        return _Token(str(result["access_token"]), started + lifetime - margin, started + lifetime)

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            # Our own session, so that verifyTls and caBundle hold whatever REQUESTS_CA_BUNDLE says (proxies from
            # the environment still apply).
            session = self._session = requests.Session()
            session.mount("https://", PolicyAdapter(self._verify, timeout=self._timeout))
            self._app = msal.ConfidentialClientApplication(
                self.credential.client_id,
                client_credential=self._client_credential(),
                authority=self.endpoints.authority(self.credential.tenant_id),
                # The tenant's OpenID configuration is read from the authority itself; instance discovery would
                # ask login.microsoftonline.com about other clouds' hosts and about test servers.
                instance_discovery=False,
                http_client=session,
            )
        return self._app

    def close(self) -> None:
        """Close the connections to the token endpoint (a token asked for later opens new ones)."""
        if self._session is not None:
            self._session.close()
        self._app = self._session = None

    def _client_credential(self) -> str | dict[str, str]:
        credential = self.credential
        if credential.secret is not None:
            return credential.secret
        if credential.certificate_path is None or credential.thumbprint is None:
            raise AuthError(f"{self.label}: neither clientSecret nor certificate is configured")
        try:
            certificate = read_certificate_credential(Path(credential.certificate_path))
        except CertificateFileError as exc:
            raise AuthError(f"{self.label}: {exc.reason}") from None
        # A given SHA-1 thumbprint makes msal sign with RS256 and name the certificate by x5t, as Entra expects.
        return {"private_key": certificate.private_key_pem, "thumbprint": credential.thumbprint}

    def _discovery_error(self, exc: ValueError) -> AuthError:
        text = " ".join(str(part) for part in (exc, exc.__context__) if part is not None)
        if "authority configuration" in text or "OIDC Discovery" in text or "AADSTS90002" in text:
            return AuthError(
                f"{self.label}: {self.endpoints.authority_host} does not know the tenant "
                f"{self.credential.tenant_id!r} (AADSTS90002); check tenantId (Directory (tenant) ID in Microsoft "
                "Entra admin center > Overview) and cloud"
            )
        return AuthError(f"{self.label}: the token request could not be made: {_first_line(exc)}")

    def _token_error(self, result: Mapping[str, Any]) -> AuthError:
        return token_error(result, label=self.label, credential=self.credential, endpoints=self.endpoints)


_AADSTS = re.compile(r"AADSTS(\d+)")
_TLS_REASON = re.compile(r"certificate verify failed: ([^()'\"]+)")
_SERVER_SIDE = frozenset({"server_error", "temporarily_unavailable"})


def token_error(
    result: Mapping[str, Any], *, label: str, credential: GraphCredential, endpoints: GraphEndpoints
) -> AuthError:
    """The :class:`AuthError` for an error answer of the token endpoint, saying what the admin should change."""
    error = str(result.get("error") or "error")
    description = str(result.get("error_description") or "")
    codes = [int(code) for code in result.get("error_codes") or () if str(code).isdigit()]
    codes += [int(code) for code in _AADSTS.findall(description)]
    code = codes[0] if codes else None
    tag = f"AADSTS{code}" if code is not None else error
    tenant, client = credential.tenant_id, credential.client_id
    uses_certificate = credential.certificate_path is not None
    message: str
    if error in _SERVER_SIDE:
        return AuthorityUnreachableError(
            f"{label}: {endpoints.authority_host} could not issue a token now ({tag}): {_first_line(description)}"
        )
    if code in (90002, 900023, 90072) or error == "invalid_tenant":
        message = (
            f"{endpoints.authority_host} does not know the tenant {tenant!r} ({tag}); check tenantId (Directory "
            "(tenant) ID in Microsoft Entra admin center > Overview) and cloud"
        )
    elif code in (700016, 7000112) or error == "unauthorized_client":
        message = (
            f"the application {client} is not registered or is disabled in tenant {tenant} ({tag}); check "
            "clientId (Application (client) ID on the app registration's Overview page) and that the app belongs "
            "to this tenant and cloud"
        )
    elif code == 7000215:
        message = (
            f"the client secret of application {client} is wrong ({tag}); create a new client secret under "
            "Certificates & secrets, encrypt its Value (not its Secret ID) with tc_calendar --hash_pass and put the "
            "token in clientSecret"
        )
    elif code == 7000222:
        message = (
            f"the client secret of application {client} has expired ({tag}); create a new client secret under "
            "Certificates & secrets and put its Value, encrypted with tc_calendar --hash_pass, in clientSecret"
        )
    elif code in (700027, 700023, 50012) and uses_certificate:
        message = (
            f"Microsoft Entra does not accept the certificate with thumbprint {credential.thumbprint} for "
            f"application {client} ({tag}): it is not uploaded to the app registration, or it has expired; upload "
            "the certificate under Certificates & secrets > Certificates and check certificate.file and thumbprint"
        )
    elif code == 700024:
        message = (
            f"Microsoft Entra says the signed client assertion is outside its valid time ({tag}); check this "
            "machine's clock (NTP)"
        )
    elif code in (500011, 1002012, 70011, 500021):
        message = (
            f"Microsoft Entra refused the scope {endpoints.scope} ({tag}); check that cloud matches the tenant's "
            "national cloud"
        )
    elif code in (53003, 530003):
        message = f"a Conditional Access policy blocks application {client} ({tag}); exclude it from the policy"
    elif error == "invalid_client":
        what = "certificate (file and thumbprint)" if uses_certificate else "client secret"
        message = f"Microsoft Entra rejected the {what} of application {client} ({tag}); check it"
    else:
        message = f"Microsoft Entra refused the token request: {error} ({tag}): {_first_line(description)}"
    return AuthError(f"{label}: {message}")


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else ""
