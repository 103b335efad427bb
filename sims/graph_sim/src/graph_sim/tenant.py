"""The Microsoft Entra tenant: app registrations (secrets, certificates, application permissions), Exchange's
Application Access Policies, and the access tokens the sim issues and checks.

Access tokens are JWTs shaped like Entra's app-only Graph tokens (``aud``, ``iss``, ``appid``, ``tid``,
``roles``, ``idtyp: app``) but signed with a key only this simulator knows: clients must treat them as opaque,
as Microsoft asks them to. Times come from the world's clock, so moving the clock expires tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

DEFAULT_TENANT_ID = "8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35"
DEFAULT_CLIENT_ID = "c0ffee00-1111-4222-8333-444455556666"
DEFAULT_CLIENT_SECRET = "graph-sim-secret"
GRAPH_RESOURCE = "https://graph.microsoft.com"
#: Application permissions that allow reading calendars; writing needs Calendars.ReadWrite.
READ_ROLES = frozenset({"Calendars.Read", "Calendars.ReadBasic.All", "Calendars.ReadWrite"})
WRITE_ROLES = frozenset({"Calendars.ReadWrite"})
DEFAULT_TOKEN_LIFETIME = 3599


@dataclass
class Certificate:
    """A certificate uploaded to an app registration (its public part)."""

    thumbprint: str  # SHA-1 of the DER, upper-case hex, as Entra shows it
    thumbprint_sha256: str
    public_key: PublicKeyTypes
    not_before: datetime
    not_after: datetime


def load_certificate(pem: str | bytes) -> Certificate:
    """A :class:`Certificate` from a PEM (a combined key + certificate PEM is fine: only the certificate is read)."""
    data = pem.encode() if isinstance(pem, str) else pem
    cert = x509.load_pem_x509_certificate(data)
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(
        hashlib.sha1(der).hexdigest().upper(),
        hashlib.sha256(der).hexdigest().upper(),
        cert.public_key(),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


@dataclass
class AccessPolicy:
    """Exchange's New-ApplicationAccessPolicy: ``RestrictAccess`` (only ``mailboxes``) or ``DenyAccess`` (all but)."""

    access_right: str  # "RestrictAccess" | "DenyAccess"
    mailboxes: frozenset[str]

    def allows(self, smtp: str) -> bool:
        inside = smtp.lower() in self.mailboxes
        return inside if self.access_right == "RestrictAccess" else not inside


@dataclass
class AppRegistration:
    client_id: str
    display_name: str = "tc-calendar"
    secrets: dict[str, datetime | None] = field(default_factory=dict)  # secret value -> expiry (None: never)
    certificates: list[Certificate] = field(default_factory=list)
    roles: set[str] = field(default_factory=lambda: {"Calendars.Read"})
    access_policy: AccessPolicy | None = None
    service_principal_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def may_read(self, smtp: str) -> bool:
        return self.access_policy is None or self.access_policy.allows(smtp)


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    roles: frozenset[str]
    expires: datetime


class TokenError(Exception):
    """The bearer token is missing, malformed, foreign or expired (Graph's 401 InvalidAuthenticationToken)."""


class Tenant:
    """One Entra tenant: its id, verified domains, app registrations and the token signing key."""

    def __init__(self, clock: Callable[[], datetime], tenant_id: str = DEFAULT_TENANT_ID) -> None:
        self.tenant_id = tenant_id
        self.domains: set[str] = set()
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._apps: dict[str, AppRegistration] = {}
        self._lock = threading.Lock()

    # -- registrations ----------------------------------------------------------------------------------------

    def add_app(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate_pem: str | bytes | None = None,
        roles: set[str] | list[str] | None = None,
        display_name: str = "tc-calendar",
    ) -> AppRegistration:
        """Register (or replace) an app with a secret and/or a certificate and its application permissions."""
        app = AppRegistration(client_id.lower(), display_name)
        if roles is not None:
            app.roles = set(roles)
        if secret is not None:
            app.secrets[secret] = None
        if certificate_pem is not None:
            app.certificates.append(load_certificate(certificate_pem))
        with self._lock:
            self._apps[app.client_id] = app
        return app

    def app(self, client_id: str) -> AppRegistration | None:
        with self._lock:
            return self._apps.get(client_id.lower())

    def apps(self) -> list[AppRegistration]:
        with self._lock:
            return list(self._apps.values())

    def remove_app(self, client_id: str) -> None:
        with self._lock:
            self._apps.pop(client_id.lower(), None)

    def add_secret(self, client_id: str, secret: str, expires: datetime | None = None) -> None:
        self._require(client_id).secrets[secret] = expires

    def add_certificate(self, client_id: str, certificate_pem: str | bytes) -> Certificate:
        cert = load_certificate(certificate_pem)
        self._require(client_id).certificates.append(cert)
        return cert

    def set_access_policy(self, client_id: str, access_right: str | None, mailboxes: list[str] | None = None) -> None:
        """Scope an app to mailboxes (``RestrictAccess``), away from them (``DenyAccess``), or lift it (None)."""
        app = self._require(client_id)
        if access_right is None:
            app.access_policy = None
            return
        if access_right not in ("RestrictAccess", "DenyAccess"):
            raise ValueError("access_right must be RestrictAccess or DenyAccess")
        app.access_policy = AccessPolicy(access_right, frozenset(m.lower() for m in mailboxes or ()))

    def _require(self, client_id: str) -> AppRegistration:
        app = self.app(client_id)
        if app is None:
            raise KeyError(f"no app registration {client_id!r}")
        return app

    def knows(self, tenant: str) -> bool:
        """Whether ``tenant`` (a GUID or a verified domain, as in an authority URL) names this tenant."""
        return tenant.lower() == self.tenant_id or tenant.lower() in self.domains

    # -- tokens -------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def issue(self, app: AppRegistration, *, by_certificate: bool) -> tuple[str, int]:
        """An access token for ``app`` and its lifetime in seconds."""
        now = self.now()
        lifetime = self.token_lifetime
        claims: dict[str, Any] = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
            "app_displayname": app.display_name,
            "appid": app.client_id,
            "appidacr": "2" if by_certificate else "1",
            "idp": f"https://sts.windows.net/{self.tenant_id}/",
            "idtyp": "app",
            "oid": app.service_principal_id,
            "roles": sorted(app.roles),
            "sub": app.service_principal_id,
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        token = jwt.encode(claims, self._key, algorithm="HS256", headers={"typ": "JWT", "kid": "graph-sim"})
        return token, lifetime

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this tenant issued; TokenError if it is not one or has expired."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=GRAPH_RESOURCE,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenError("Invalid JWT token. The token is malformed or was not issued for this tenant.") from exc
        if claims.get("tid") != self.tenant_id:
            raise TokenError("Invalid JWT token. Tenant not found.")
        expires = datetime.fromtimestamp(int(claims["exp"]), self.now().tzinfo)
        if self.now() >= expires:
            raise TokenError("Lifetime validation failed, the token is expired.")
        return TokenClaims(str(claims["appid"]), frozenset(claims.get("roles", ())), expires)
