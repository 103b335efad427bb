"""Authentication, sans I/O: challenge-response proofs for servers, passwords and session tokens for web users.

A TrueConf Server proves it knows the shared secret without sending it: it answers a fresh random challenge with
``hex(HMAC-SHA256(secret, challenge || serverId))``. A web user signs in with login and password (over TLS or
loopback only) and gets a short-lived token, HMAC-signed with a key derived from the API secret, that the page
reuses on reconnect. Repeated failures from one address are slowed down by :class:`AuthThrottle`.
Everything is pure: the clock and randomness are parameters, so the rules are tested without sockets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tc_calendar.api.errors import LoginFailed
from tc_calendar.clocks import Monotonic

ALGORITHM = "HMAC-SHA256"


def new_challenge() -> str:
    """32 random bytes, hex: unpredictable and never reused, so a recorded proof cannot be replayed."""
    return secrets.token_hex(32)


def _hmac_hex(key: str | bytes, *parts: str) -> str:
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, "".join(parts).encode(), hashlib.sha256).hexdigest()


def compute_proof(secret: str, challenge: str, server_id: str) -> str:
    """The peer's proof: HMAC-SHA256 keyed with the UTF-8 secret over UTF-8 ``challenge`` then ``serverId``."""
    return _hmac_hex(secret, challenge, server_id)


def verify_proof(secret: str, challenge: str, server_id: str, proof: str) -> bool:
    return hmac.compare_digest(compute_proof(secret, challenge, server_id), proof.lower())


def compute_server_proof(secret: str, nonce: str, challenge: str) -> str:
    """The connector's proof to the peer (mutual authentication without TLS): over "server" || nonce || challenge."""
    return _hmac_hex(secret, "server", nonce, challenge)


@dataclass(frozen=True, slots=True)
class ServerCredentials:
    """Who may connect as a server: ``productWhitelist.tcs`` and the secrets (per server, else the global one).

    Server IDs are compared case-insensitively (they are DNS names plus ``#vcs``).
    """

    whitelist: frozenset[str]
    default_secret: str
    per_server: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, whitelist: list[str], default_secret: str, per_server: Mapping[str, str]) -> ServerCredentials:
        return cls(
            frozenset(s.casefold() for s in whitelist),
            default_secret,
            {k.casefold(): v for k, v in per_server.items()},
        )

    def secret_for(self, server_id: str) -> str | None:
        """The secret the server must prove, or ``None`` when the ID is not whitelisted."""
        key = server_id.casefold()
        if key not in self.whitelist:
            return None
        return self.per_server.get(key, self.default_secret)


def check_password(users: Mapping[str, str], login: str, password: str) -> bool:
    """Constant-time check; an unknown login costs the same as a wrong password (no user enumeration)."""
    expected = users.get(login)
    candidate = password.encode()
    if expected is None:
        hmac.compare_digest(candidate, b"\0" * len(candidate))
        return False
    return hmac.compare_digest(expected.encode(), candidate)


def derive_token_key(api_secret: str) -> bytes:
    """Session tokens are signed with a key derived from the API secret: rotating the secret revokes them."""
    return hmac.new(api_secret.encode(), b"tc-calendar web session v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    login: str
    expires_at: float


class SessionTokens:
    """Stateless web session tokens: ``base64url(json{sub, exp}) "." base64url(HMAC-SHA256(key, payload))``."""

    def __init__(self, key: bytes, ttl: float, clock: Callable[[], float] = time.time) -> None:
        """``clock``: seconds since the epoch (an expiry inside the token must mean the same after a restart)."""
        self._key = key
        self._ttl = ttl
        self._clock = clock

    def issue(self, login: str) -> IssuedToken:
        expires_at = int(self._clock() + self._ttl)
        payload = _b64(json.dumps({"sub": login, "exp": expires_at}, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
        return IssuedToken(f"{payload}.{signature}", login, float(expires_at))

    def verify(self, token: str) -> str:
        """The login the token was issued to; :class:`LoginFailed` if forged, malformed or expired."""
        payload, _, signature = token.partition(".")
        expected = _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
        if not signature or not hmac.compare_digest(expected, signature):
            raise LoginFailed("invalid session token")
        try:
            claims = json.loads(_unb64(payload))
            login, expires_at = claims["sub"], claims["exp"]
        except (ValueError, KeyError, TypeError):
            raise LoginFailed("invalid session token") from None
        if not isinstance(login, str) or not isinstance(expires_at, int) or expires_at <= self._clock():
            raise LoginFailed("session token expired; sign in again")
        return login


class AuthThrottle:
    """Per-address back-off after failed sign-ins.

    The first ``free_failures`` failures cost nothing; each further one blocks the address for
    ``base_delay * 2**k`` seconds (capped at ``max_delay``). A success clears the address. At most
    ``max_addresses`` addresses are remembered (least recently failed forgotten first), so memory is bounded
    even when many addresses probe.
    """

    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_addresses: int = 10_000,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self._free = free_failures
        self._base = base_delay
        self._max = max_delay
        self._capacity = max_addresses
        self._clock = clock
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0 when it may now."""
        entry = self._state.get(address)
        if entry is None:
            return 0.0
        return max(0.0, entry[1] - self._clock())

    def failure(self, address: str) -> float:
        """Record a failure; returns the new block duration (0 while failures are still free)."""
        failures = self._state.pop(address, (0, 0.0))[0] + 1
        excess = failures - self._free
        delay = 0.0 if excess <= 0 else min(self._max, self._base * 2 ** (excess - 1))
        self._state[address] = (failures, self._clock() + delay)
        while len(self._state) > self._capacity:
            self._state.popitem(last=False)
        return delay

    def success(self, address: str) -> None:
        self._state.pop(address, None)

    def __len__(self) -> int:
        return len(self._state)
