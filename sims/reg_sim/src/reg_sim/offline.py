"""Turning an installation's ``regoffline.crg`` into a registration file (what the manager does).

The request is JSON (``format`` ``tc-calendar-offline-request/1``, ``productKey``, ``fingerprint``, ``createdAt``,
...) with ``checksum`` = ``"sha256:"`` + SHA-256 of the other fields as compact JSON with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reg_sim.licences import LicenceTerms, sign_licence

REQUEST_FORMAT = "tc-calendar-offline-request/1"
FREE_KEY_PREFIX = "FREE-"


class OfflineRequestRefused(Exception):
    """The request cannot be signed: damaged, not a request, or for a free key."""


def read_request(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        raise OfflineRequestRefused("not an offline registration request (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != REQUEST_FORMAT:
        raise OfflineRequestRefused("not an offline registration request")
    fields = {name: value for name, value in data.items() if name != "checksum"}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    if data.get("checksum") != "sha256:" + digest:
        raise OfflineRequestRefused("the request is damaged: its checksum does not match")
    for name in ("productKey", "fingerprint"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise OfflineRequestRefused(f"the request has no {name}")
    return fields


def sign_offline_request(text: str, key: Ed25519PrivateKey, *, account_limit: int | None = 100,
                         valid_days: int | None = 365, now: datetime | None = None) -> str:
    """The registration file (a standard-edition licence) for the request in ``text``."""
    fields = read_request(text)
    if fields["productKey"].upper().startswith(FREE_KEY_PREFIX):
        raise OfflineRequestRefused(
            "A free license cannot be registered offline. This form of registration is available only for paid "
            "licenses."
        )
    issued = now or datetime.now(UTC)
    terms = LicenceTerms(
        edition="standard",
        account_limit=account_limit,
        product_key=fields["productKey"],
        fingerprint=fields["fingerprint"],
        issued_at=issued,
        expires_at=issued + timedelta(days=valid_days) if valid_days is not None else None,
    )
    return sign_licence(terms, key)
