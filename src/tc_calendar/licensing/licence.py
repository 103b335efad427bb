"""The licence document: what it says, how it is signed, and how it is checked. Pure: no files, no clock.

A licence file is a small JSON object::

    {"format": "tc-calendar-licence/1", "keyId": "<16 hex>", "payload": "<base64>", "signature": "<base64>"}

``payload`` is base64 of a UTF-8 JSON object (the signed bytes are exactly those, so no canonical form is needed
to verify): ``product`` (``"tc-calendar"``), ``edition`` (``"free"`` or ``"standard"``), ``accountLimit``
(integer, or ``null`` for no limit), ``productKey``, ``fingerprint`` (the installation it was issued for),
``issuedAt`` and ``expiresAt`` (ISO 8601 with a time zone; ``expiresAt`` ``null`` means it does not expire).
``signature`` is the Ed25519 signature of the payload bytes by the registration server; ``keyId`` names the key
(see :func:`tc_calendar.licence_keys.key_id`), so a file from a foreign key is reported as such rather than as
tampered.

Checks, in order, each with its own error: the file's shape, a trusted key, the signature, the payload, the
installation fingerprint, the expiry date.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tc_calendar.licence_keys import key_id
from tc_calendar.licensing.errors import (
    LicenceExpiredError,
    LicenceFingerprintError,
    LicenceFormatError,
    LicenceSignatureError,
)

LICENCE_FORMAT = "tc-calendar-licence/1"
PRODUCT = "tc-calendar"
FREE_KEY_PREFIX = "FREE-"
"""Keys of the free edition start with this; it is how an installation without a network knows (seed 2.4.2)."""


class Edition(StrEnum):
    """Seed 1.2: the free edition (50 accounts, needs the registration server) and the standard edition."""

    FREE = "free"
    STANDARD = "standard"


@dataclass(frozen=True, slots=True)
class Licence:
    """What a verified licence grants. ``account_limit`` ``None``: no limit; ``expires_at`` ``None``: never."""

    edition: Edition
    account_limit: int | None
    product_key: str
    fingerprint: str
    issued_at: datetime
    expires_at: datetime | None


def is_free_key(product_key: str) -> bool:
    """Whether a registration key is for the free edition (free keys start with ``FREE-``)."""
    return product_key.strip().upper().startswith(FREE_KEY_PREFIX)


def payload_of(licence: Licence) -> dict[str, Any]:
    return {
        "product": PRODUCT,
        "edition": licence.edition.value,
        "accountLimit": licence.account_limit,
        "productKey": licence.product_key,
        "fingerprint": licence.fingerprint,
        "issuedAt": licence.issued_at.isoformat(),
        "expiresAt": licence.expires_at.isoformat() if licence.expires_at else None,
    }


def sign_licence(licence: Licence, private_key: Ed25519PrivateKey) -> str:
    """The licence file text for ``licence``, signed with ``private_key`` (what a registration server does)."""
    payload = json.dumps(payload_of(licence), sort_keys=True, separators=(",", ":")).encode()
    document = {
        "format": LICENCE_FORMAT,
        "keyId": key_id(private_key.public_key()),
        "payload": base64.b64encode(payload).decode("ascii"),
        "signature": base64.b64encode(private_key.sign(payload)).decode("ascii"),
    }
    return json.dumps(document, indent=2) + "\n"


def verify_licence(
    text: str,
    keys: dict[str, Ed25519PublicKey],
    *,
    fingerprint: str,
    now: datetime,
    source: str = "the licence",
) -> Licence:
    """The licence in ``text`` if it is genuine, for this installation and current; else a :class:`LicenceError`.

    ``source`` names the file in messages. ``keys`` maps key ids to trusted public keys.
    """
    licence = verify_signature(text, keys, source=source)
    if licence.fingerprint != fingerprint:
        raise LicenceFingerprintError(
            f"{source} was issued for another installation (fingerprint {licence.fingerprint}, this installation is "
            f"{fingerprint}); register this installation with tc_calendar --register KEY"
        )
    if licence.expires_at is not None and licence.expires_at <= now:
        raise LicenceExpiredError(
            f"{source} expired on {licence.expires_at.isoformat()}; renew it with tc_calendar --register KEY"
        )
    return licence


def verify_signature(text: str, keys: dict[str, Ed25519PublicKey], *, source: str = "the licence") -> Licence:
    """The licence in ``text`` if a trusted key signed it, without the installation and date checks."""
    document = _load_document(text, source)
    key = keys.get(document["keyId"])
    if key is None:
        raise LicenceSignatureError(
            f"{source} is signed by a key this installation does not trust (key id {document['keyId']}); "
            f"use a licence from your registration server, or set registration.publicKey to that server's key"
        )
    try:
        payload = base64.b64decode(document["payload"], validate=True)
        signature = base64.b64decode(document["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise LicenceFormatError(f"{source} is damaged: payload or signature is not base64") from None
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        raise LicenceSignatureError(
            f"{source} has been altered since it was issued (its signature does not match); "
            f"restore the original file or register again"
        ) from None
    return _parse_payload(payload, source)


def _load_document(text: str, source: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except ValueError:
        raise LicenceFormatError(f"{source} is not a tc-calendar licence file (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != LICENCE_FORMAT:
        raise LicenceFormatError(f"{source} is not a tc-calendar licence file (expected format {LICENCE_FORMAT})")
    for field in ("keyId", "payload", "signature"):
        if not isinstance(document.get(field), str):
            raise LicenceFormatError(f"{source} is damaged: {field} is missing")
    return {field: document[field] for field in ("keyId", "payload", "signature")}


def _parse_payload(payload: bytes, source: str) -> Licence:
    try:
        data = json.loads(payload)
        if data.get("product") != PRODUCT:
            raise ValueError(f"it is for product {data.get('product')!r}")
        limit = data["accountLimit"]
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ValueError("accountLimit is not a number of accounts")
        expires = data["expiresAt"]
        licence = Licence(
            edition=Edition(data["edition"]),
            account_limit=limit,
            product_key=str(data["productKey"]),
            fingerprint=str(data["fingerprint"]),
            issued_at=_aware(data["issuedAt"]),
            expires_at=_aware(expires) if expires is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LicenceFormatError(f"{source} has a payload this version cannot read: {exc}") from None
    return licence


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"date {text!r} has no time zone")
    return moment
