"""Value types shared by the settings models: ports, e-mail addresses, encrypted secrets.

Each raises :class:`pydantic_core.PydanticCustomError` with a message that says what was expected, because the
loader shows pydantic's message to the administrator next to the key path and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr, Strict, ValidationInfo
from pydantic_core import PydanticCustomError

from tc_calendar.crypto import HASH_PASS_HINT, looks_encrypted
from tc_calendar.errors import SecretError

Decryptor = Callable[[str], str]
"""Turns a ``dGNf...`` token into its plaintext or raises :class:`SecretError`; passed in the validation context."""

DECRYPTOR_CONTEXT_KEY = "decrypt"

_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[^@\s\"(),:;<>\[\]\\]+@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*")


def _check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise PydanticCustomError("port", "expected an integer from 1 to 65535, got {value}", {"value": value})
    return value


def _check_months(value: int) -> int:
    if value < 0:
        raise PydanticCustomError(
            "months", "expected a whole number of months, 0 or more, got {value}", {"value": value}
        )
    return value


def _normalise_email(value: str) -> str:
    address = value.strip()
    if not _EMAIL.fullmatch(address):
        raise PydanticCustomError(
            "email", "expected an e-mail address such as name@example.com, got {value}", {"value": repr(value)}
        )
    return address.lower()


def _check_non_empty(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty", "expected a non-empty string")
    return value


_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_DOMAIN = re.compile(rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+")
_MULTI_TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _check_tenant(value: str) -> str:
    """A directory (tenant) ID or one of its domains; msal's multi-tenant aliases cannot get app-only tokens."""
    tenant = value.strip()
    if tenant.lower() in _MULTI_TENANT_ALIASES:
        raise PydanticCustomError(
            "tenant_alias",
            "{value} cannot be used with application permissions; give the Directory (tenant) ID from Microsoft "
            "Entra admin center > Overview, such as 8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35",
            {"value": repr(value)},
        )
    if _GUID.fullmatch(tenant):
        return tenant.lower()
    if _DOMAIN.fullmatch(tenant):
        return tenant.lower()
    raise PydanticCustomError(
        "tenant",
        "expected the Directory (tenant) ID, a GUID such as 8f3c2a9e-0d1b-4c5e-9a7f-2b6d4e8c1a35, or a domain of "
        "the tenant such as contoso.onmicrosoft.com, got {value}",
        {"value": repr(value)},
    )


def _check_guid(value: str) -> str:
    if not _GUID.fullmatch(value.strip()):
        raise PydanticCustomError(
            "guid",
            "expected the Application (client) ID of the app registration, a GUID such as "
            "c0ffee00-1111-4222-8333-444455556666, got {value}",
            {"value": repr(value)},
        )
    return value.strip().lower()


def _check_https_origin(value: str) -> str:
    """``https://host[:port]``: where a login or Graph endpoint lives (the paths are Microsoft's)."""
    parts = urlsplit(value.strip())
    try:
        valid_port = parts.port is None or parts.port > 0
    except ValueError:
        valid_port = False
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query or not valid_port:
        raise PydanticCustomError(
            "https_origin",
            "expected an https:// URL with a host and no path, such as https://login.microsoftonline.us, got {value}",
            {"value": repr(value)},
        )
    return f"https://{parts.netloc}"


def _check_notification_url(value: str) -> str:
    """Microsoft Graph delivers change notifications to https URLs only; http is accepted on loopback for demos."""
    parts = urlsplit(value.strip())
    try:
        valid_port = parts.port is None or parts.port > 0
    except ValueError:
        valid_port = False
    loopback_http = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS
    if not parts.hostname or not valid_port or parts.fragment or not (parts.scheme == "https" or loopback_http):
        raise PydanticCustomError(
            "notification_url",
            "expected the public https:// URL at which Microsoft Graph reaches the connector's HTTP server, such as "
            "https://calendar.example.com/graph/notifications, got {value}",
            {"value": repr(value)},
        )
    return value.strip()


def _decrypt(value: object, info: ValidationInfo, *, allow_empty: bool) -> SecretStr:
    """Decrypt a ``--hash_pass`` token found in the file; values built in Python may pass a ``SecretStr``."""
    if isinstance(value, SecretStr):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("secret_type", "expected an encrypted string; " + HASH_PASS_HINT)
    if allow_empty and value == "":
        return SecretStr("")
    if not looks_encrypted(value):
        raise PydanticCustomError(
            "secret_plain",
            "expected an encrypted value (starting with dGNf), found text that is not encrypted; "
            "run tc_calendar --hash_pass <password> and put the printed token here instead",
        )
    decrypt: Decryptor | None = (info.context or {}).get(DECRYPTOR_CONTEXT_KEY)
    if decrypt is None:
        raise PydanticCustomError("secret_no_key", "an encrypted value was given but no key file is available")
    try:
        return SecretStr(decrypt(value))
    except SecretError as exc:
        raise PydanticCustomError("secret", "{reason}", {"reason": exc.reason}) from exc


def _decrypt_required(value: object, info: ValidationInfo) -> SecretStr:
    return _decrypt(value, info, allow_empty=False)


def _decrypt_optional(value: object, info: ValidationInfo) -> SecretStr:
    return _decrypt(value, info, allow_empty=True)


Port = Annotated[int, Strict(), AfterValidator(_check_port)]
Months = Annotated[int, Strict(), AfterValidator(_check_months)]
Email = Annotated[str, Strict(), AfterValidator(_normalise_email)]
NonEmptyStr = Annotated[str, Strict(), AfterValidator(_check_non_empty)]
TenantId = Annotated[str, Strict(), AfterValidator(_check_tenant)]
Guid = Annotated[str, Strict(), AfterValidator(_check_guid)]
HttpsOrigin = Annotated[str, Strict(), AfterValidator(_check_https_origin)]
NotificationUrl = Annotated[str, Strict(), AfterValidator(_check_notification_url)]
EncryptedSecret = Annotated[SecretStr, BeforeValidator(_decrypt_required)]
"""A secret stored encrypted in the file and held decrypted, as ``SecretStr`` so it never shows in repr or logs."""
EncryptedSecretOrEmpty = Annotated[SecretStr, BeforeValidator(_decrypt_optional)]
"""Like :data:`EncryptedSecret`, but ``""`` means "no secret" (the seed's ``dbConnectionConfig.password``)."""
