"""The Microsoft identity platform endpoints msal uses for the client credentials flow.

* ``GET /common/discovery/instance`` (instance discovery, when msal is pointed at it),
* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (tenant discovery),
* ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``, a client secret (form field or HTTP
  Basic) or a ``client_assertion`` JWT signed with a certificate registered on the app (``x5t`` or ``x5t#S256``
  header), and ``scope=https://graph.microsoft.com/.default``.

Errors follow Entra's shapes: ``{"error", "error_description": "AADSTSnnnn: ...", "error_codes", "timestamp",
"trace_id", "correlation_id", "error_uri"}``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph_sim.tenant import GRAPH_RESOURCE, AppRegistration, Certificate, Tenant

#: Clock skew Entra tolerates on client assertions.
ASSERTION_SKEW = timedelta(minutes=5)


class IdentityError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def response(self) -> JSONResponse:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        now = datetime.now(UTC)
        text = (
            f"AADSTS{self.code}: {self.description} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}"
        )
        return JSONResponse(
            {
                "error": self.error,
                "error_description": text,
                "error_codes": [self.code],
                "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
            },
            status_code=self.status,
            headers={"Cache-Control": "no-store, no-cache"},
        )


def _tenant_not_found(tenant: str) -> IdentityError:
    return IdentityError(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
        "correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    )


def openid_configuration(base_url: str, tenant_id: str) -> dict[str, Any]:
    root = f"{base_url}/{tenant_id}"
    host = urlparse(base_url).netloc
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base_url}/{tenant_id}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": host,
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net",
    }


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


class Identity:
    """The login host's routes over one :class:`Tenant`; ``count(operation, outcome)`` records each request."""

    def __init__(self, tenant: Tenant, count: Any) -> None:
        self.tenant = tenant
        self._count = count

    def routes(self) -> list[Route]:
        return [
            Route("/common/discovery/instance", self.instance_discovery, methods=["GET"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.openid, methods=["GET"]),
            Route("/{tenant}/.well-known/openid-configuration", self.openid, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
        ]

    async def instance_discovery(self, request: Request) -> Response:
        endpoint = request.query_params.get("authorization_endpoint", "")
        parts = [p for p in urlparse(endpoint).path.split("/") if p]
        tenant = parts[0] if parts else "common"
        host = request.url.netloc
        return JSONResponse(
            {
                "tenant_discovery_endpoint": f"{_base(request)}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    async def openid(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not self.tenant.knows(tenant):
            self._count("openid-configuration", "400")
            error = _tenant_not_found(tenant)
            error.error = "invalid_tenant"
            return error.response()
        self._count("openid-configuration", "200")
        return JSONResponse(openid_configuration(_base(request), self.tenant.tenant_id))

    async def token(self, request: Request) -> Response:
        try:
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
            app, by_certificate = self._authenticate(request, form)
        except IdentityError as exc:
            self._count("token", exc.error)
            return exc.response()
        access_token, lifetime = self.tenant.issue(app, by_certificate=by_certificate)
        self._count("token", "200")
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access_token},
            headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    def _authenticate(self, request: Request, form: dict[str, str]) -> tuple[AppRegistration, bool]:
        tenant = request.path_params["tenant"]
        if not self.tenant.knows(tenant):
            raise _tenant_not_found(tenant)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise IdentityError(
                400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
            )
        basic_id, basic_secret = _basic_credentials(request)
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise IdentityError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        app = self.tenant.app(client_id)
        if app is None:
            raise IdentityError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant.tenant_id}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                "authentication request to the wrong tenant.",
            )
        _check_scope(form.get("scope", ""))
        secret = form.get("client_secret") or basic_secret
        assertion = form.get("client_assertion")
        if secret:
            self._check_secret(app, secret)
            return app, False
        if assertion:
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                raise IdentityError(
                    400, "invalid_request", 50027, "Invalid JWT token. client_assertion_type is not jwt-bearer."
                )
            self._check_assertion(app, assertion)
            return app, True
        raise IdentityError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )

    def _check_secret(self, app: AppRegistration, secret: str) -> None:
        if secret not in app.secrets:
            raise IdentityError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            )
        expires = app.secrets[secret]
        if expires is not None and self.tenant.now() >= expires:
            raise IdentityError(
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.client_id}' are expired. Visit the Azure portal to "
                "create new keys for your app or consider using certificate credentials for added security.",
            )

    def _check_assertion(self, app: AppRegistration, assertion: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise IdentityError(401, "invalid_client", 50027, "Invalid JWT token. The token is malformed.") from exc
        cert, thumbprint = _certificate_for(app, header)
        if cert is None:
            raise IdentityError(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key "
                f"used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS "
                f"Graph to see configured keys for app Id '{app.client_id}'.]",
            )
        if self.tenant.now() >= cert.not_after:
            raise IdentityError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of "
                f"key used by client: '{cert.thumbprint}', Found key 'Start={cert.not_before:%m/%d/%Y %H:%M:%S}, "
                f"End={cert.not_after:%m/%d/%Y %H:%M:%S}']",
            )
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key,  # type: ignore[arg-type]
                algorithms=["RS256", "PS256", "ES256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise IdentityError(
                401,
                "invalid_client",
                700027,
                f"Client assertion contains an invalid signature. [Reason - The provided signature value did not "
                f"match the expected signature value., Thumbprint of key used by client: '{cert.thumbprint}']",
            ) from exc
        if claims.get("iss") != app.client_id and str(claims.get("iss", "")).lower() != app.client_id:
            raise IdentityError(401, "invalid_client", 700023, "Client assertion issuer does not match the client id.")
        audience = str(claims.get("aud", ""))
        if not urlparse(audience).path.rstrip("/").endswith(("/oauth2/v2.0/token", "/oauth2/token")):
            raise IdentityError(
                401,
                "invalid_client",
                700212,
                f"No matching federated identity record found for presented assertion audience '{audience}'.",
            )
        now = datetime.now(UTC)
        exp = claims.get("exp")
        nbf = claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float):
            raise IdentityError(401, "invalid_client", 700024, "Client assertion has no 'exp' claim.")
        if datetime.fromtimestamp(exp, UTC) + ASSERTION_SKEW < now or (
            isinstance(nbf, int | float) and datetime.fromtimestamp(nbf, UTC) - ASSERTION_SKEW > now
        ):
            raise IdentityError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")


def _check_scope(scope: str) -> None:
    scopes = scope.split()
    if not scopes or not all(s.endswith("/.default") for s in scopes):
        raise IdentityError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI).",
        )
    resources = {s[: -len("/.default")].rstrip("/") for s in scopes}
    if resources != {GRAPH_RESOURCE}:
        raise IdentityError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {', '.join(sorted(resources))} was not found in the tenant.",
        )


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _b64url_hex(value: str) -> str:
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.urlsafe_b64decode(padded).hex().upper()
    except (binascii.Error, ValueError):
        return ""


def _certificate_for(app: AppRegistration, header: dict[str, Any]) -> tuple[Certificate | None, str]:
    sha1 = _b64url_hex(str(header.get("x5t", ""))) if header.get("x5t") else ""
    sha256 = _b64url_hex(str(header.get("x5t#S256", ""))) if header.get("x5t#S256") else ""
    for cert in app.certificates:
        if (sha1 and cert.thumbprint == sha1) or (sha256 and cert.thumbprint_sha256 == sha256):
            return cert, cert.thumbprint
    return None, sha1 or sha256
