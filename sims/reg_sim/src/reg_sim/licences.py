"""Signing licences in tc-calendar's licence format (``tc-calendar-licence/1``).

``{"format", "keyId", "payload", "signature"}``: ``payload`` is base64 of compact JSON (``product``, ``edition``,
``accountLimit``, ``productKey``, ``fingerprint``, ``issuedAt``, ``expiresAt``); ``signature`` is Ed25519 over
those bytes; ``keyId`` is the first 16 hex digits of SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

LICENCE_FORMAT = "tc-calendar-licence/1"
PRODUCT = "tc-calendar"


@dataclass(frozen=True, slots=True)
class LicenceTerms:
    edition: str
    account_limit: int | None
    product_key: str
    fingerprint: str
    issued_at: datetime
    expires_at: datetime | None


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public half as base64 of its 32 raw bytes (what tc-calendar's ``registration.publicKey`` takes)."""
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def key_id(key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def sign_licence(terms: LicenceTerms, key: Ed25519PrivateKey) -> str:
    """The licence file text."""
    payload = json.dumps({
        "product": PRODUCT,
        "edition": terms.edition,
        "accountLimit": terms.account_limit,
        "productKey": terms.product_key,
        "fingerprint": terms.fingerprint,
        "issuedAt": terms.issued_at.isoformat(),
        "expiresAt": terms.expires_at.isoformat() if terms.expires_at else None,
    }, sort_keys=True, separators=(",", ":")).encode()
    document = {
        "format": LICENCE_FORMAT,
        "keyId": key_id(key),
        "payload": base64.b64encode(payload).decode("ascii"),
        "signature": base64.b64encode(key.sign(payload)).decode("ascii"),
    }
    return json.dumps(document, indent=2) + "\n"
