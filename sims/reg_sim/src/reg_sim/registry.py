"""What the registration server knows: its signing key, the product keys it issues licences for, which
installation each key is bound to, and the check-ins it received. Thread-safe: the HTTP server runs in its own
thread while a test changes the registry from another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reg_sim.licences import LicenceTerms, generate_private_key, public_key_text, sign_licence

FREE_ACCOUNT_LIMIT = 50


class Refused(Exception):
    """A request the server answers with a 4xx; ``status`` is the HTTP status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A product key: its edition, account limit (``None``: no limit) and how long its licences last."""

    edition: str = "standard"
    account_limit: int | None = 100
    valid_days: int | None = 365

    @classmethod
    def free(cls) -> KeySpec:
        return cls("free", FREE_ACCOUNT_LIMIT, 365)


@dataclass
class CheckIn:
    product_key: str
    fingerprint: str
    at: datetime


@dataclass
class Registry:
    """The server's state. ``available = False`` makes every endpoint answer 503 (an outage)."""

    private_key: Ed25519PrivateKey = field(default_factory=generate_private_key)
    keys: dict[str, KeySpec] = field(default_factory=dict)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    available: bool = True
    bindings: dict[str, str] = field(default_factory=dict)
    check_ins: list[CheckIn] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def public_key(self) -> str:
        """Base64 of the raw public key, for tc-calendar's ``registration.publicKey``."""
        return public_key_text(self.private_key)

    def add_key(self, product_key: str, spec: KeySpec | None = None) -> None:
        with self._lock:
            self.keys[product_key] = spec or (KeySpec.free() if product_key.upper().startswith("FREE-") else KeySpec())

    def register(self, product_key: str, fingerprint: str) -> str:
        """The licence text for ``product_key`` on the installation ``fingerprint``; binds the key on first use."""
        with self._lock:
            spec = self.keys.get(product_key)
            if spec is None:
                raise Refused(404, f"the registration key {product_key} is not known")
            bound = self.bindings.setdefault(product_key, fingerprint)
            if bound != fingerprint:
                raise Refused(409, f"the registration key {product_key} is already registered on another installation")
            return self._issue(product_key, spec, fingerprint)

    def check_in(self, product_key: str, fingerprint: str) -> str:
        """Record a check-in; the answer is a renewed licence, so a free licence never runs out while in touch."""
        with self._lock:
            spec = self.keys.get(product_key)
            if spec is None:
                raise Refused(404, f"the registration key {product_key} is not known")
            if self.bindings.get(product_key) != fingerprint:
                raise Refused(403, f"the registration key {product_key} is not registered on this installation")
            self.check_ins.append(CheckIn(product_key, fingerprint, self.clock()))
            return self._issue(product_key, spec, fingerprint)

    def _issue(self, product_key: str, spec: KeySpec, fingerprint: str) -> str:
        issued = self.clock()
        terms = LicenceTerms(
            edition=spec.edition,
            account_limit=spec.account_limit,
            product_key=product_key,
            fingerprint=fingerprint,
            issued_at=issued,
            expires_at=issued + timedelta(days=spec.valid_days) if spec.valid_days is not None else None,
        )
        return sign_licence(terms, self.private_key)

    def check_ins_of(self, product_key: str) -> list[CheckIn]:
        with self._lock:
            return [entry for entry in self.check_ins if entry.product_key == product_key]
