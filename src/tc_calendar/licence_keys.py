"""The public keys a licence may be signed with.

Licences are Ed25519-signed by the registration server. The connector trusts :data:`BUILT_IN_PUBLIC_KEY`, the
key of the project's registration service, unless ``registration.publicKey`` in ``config.json`` names another
(a self-hosted registration server, or a test one). Only public keys live here: the private key never belongs in
this repository.

Keys are written as base64 of the 32 raw key bytes; a licence names its key by :func:`key_id` so that a licence
from a foreign key is told apart from a tampered one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BUILT_IN_PUBLIC_KEY = "UdAIlVmJTyPNOjKnQj96kU99mra/Z55Q4yF1JwIgk6k="
"""Public key of the project's registration service (its private key is held by that service only)."""


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A key from its base64 text; ``ValueError`` with a readable reason when it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 text") from None
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes of an Ed25519 public key, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def trusted_keys(override: str | None) -> dict[str, Ed25519PublicKey]:
    """The keys to verify licences with, by key id: the configured one if set, else the built-in one."""
    key = parse_public_key(override if override else BUILT_IN_PUBLIC_KEY)
    return {key_id(key): key}
