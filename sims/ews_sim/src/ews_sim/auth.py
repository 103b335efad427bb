"""HTTP authentication as an on-premises Exchange 2016 offers it by default: Negotiate, NTLM and Basic.

Basic is checked on every request. NTLM (raw, or wrapped in Negotiate) authenticates the TCP connection, not a
request: the challenge of the second leg is only valid on the connection that asked for it, and IIS keeps the
connection authenticated afterwards. :class:`ConnectionAuth` therefore lives as long as one connection.

The NTLM acceptor is pyspnego's. It looks up password hashes in the file named by the ``NTLM_USER_FILE``
environment variable (lines ``DOMAIN:USER:PASSWORD``); :class:`NtlmCredentialFile` keeps one such file per
process holding the accounts of every running simulator.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass

import spnego
import spnego.exceptions


#: The ``WWW-Authenticate`` challenges an Exchange 2016 EWS virtual directory sends with a 401, in its order.
def challenge_headers(realm: str) -> list[str]:
    """The 401 challenges, most preferred first (IIS lists Negotiate before NTLM; Basic only when enabled)."""
    return ["Negotiate", "NTLM", f'Basic realm="{realm}"']


@dataclass(frozen=True)
class Credential:
    """A login the server accepts. ``login`` is as the client types it: ``DOMAIN\\user``, ``user@upn`` or ``user``."""

    login: str
    password: str


class AuthFailed(Exception):
    """The request must be answered with 401 and the challenges (optionally a continuation token)."""

    def __init__(self, reason: str, token: str | None = None) -> None:
        super().__init__(reason)
        self.token = token  # "NTLM <base64>" continuation for the second leg of a handshake


class NtlmCredentialFile:
    """The process-wide ``NTLM_USER_FILE`` pyspnego reads; simulators register their accounts here.

    If two simulators in one process register the same login with different passwords, the latest wins.
    """

    _lock = threading.Lock()
    _entries: dict[tuple[str, str], str] = {}
    _path: str | None = None

    @classmethod
    def register(cls, credentials: list[Credential]) -> None:
        with cls._lock:
            for cred in credentials:
                domain, user = split_login(cred.login)
                cls._entries[(domain.upper(), user.upper())] = f"{domain}:{user}:{cred.password}"
            if cls._path is None:
                fd, cls._path = tempfile.mkstemp(prefix="ews-sim-ntlm-", suffix=".txt")
                os.close(fd)
                atexit.register(_remove_quietly, cls._path)
            tmp = cls._path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("\n".join(cls._entries.values()) + "\n")
            os.replace(tmp, cls._path)
            os.environ["NTLM_USER_FILE"] = cls._path


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def split_login(login: str) -> tuple[str, str]:
    """``DOMAIN\\user`` -> (DOMAIN, user); ``user@upn`` and ``user`` -> ("", login)."""
    if "\\" in login:
        domain, user = login.split("\\", 1)
        return domain, user
    return "", login


class ConnectionAuth:
    """Authentication state of one TCP connection.

    ``check_password(login, password)`` returns the canonical login of valid Basic credentials (or None);
    ``resolve_principal(name)`` maps an NTLM principal (``DOMAIN\\user`` or ``user@upn``) to a canonical login.
    Both are asked on every attempt, so accounts and passwords changed through the control API apply at once.
    """

    def __init__(
        self,
        check_password: Callable[[str, str], str | None],
        resolve_principal: Callable[[str], str | None],
        password_of: Callable[[str], str | None],
    ) -> None:
        self._check_password = check_password
        self._resolve_principal = resolve_principal
        self._password_of = password_of
        self._ntlm: spnego.ContextProxy | None = None
        self._ntlm_scheme = "NTLM"
        self.ntlm_login: str | None = None  # the login an NTLM handshake on this connection proved

    def authenticate(self, authorization: str | None) -> str:
        """Return the login the request acts as, or raise :class:`AuthFailed`."""
        if not authorization:
            if self.ntlm_login is not None:
                return self.ntlm_login
            raise AuthFailed("no credentials")
        scheme, _, param = authorization.partition(" ")
        scheme_l = scheme.lower()
        if scheme_l == "basic":
            return self._basic(param.strip())
        if scheme_l in ("ntlm", "negotiate"):
            return self._ntlm_step(scheme, param.strip())
        raise AuthFailed(f"unsupported scheme {scheme}")

    def _basic(self, param: str) -> str:
        try:
            decoded = base64.b64decode(param, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthFailed("malformed Basic credentials") from exc
        login, sep, password = decoded.partition(":")
        if not sep:
            raise AuthFailed("malformed Basic credentials")
        known = self._check_password(login, password)
        if known is None:
            raise AuthFailed("bad user name or password")
        return known

    def _ntlm_step(self, scheme: str, param: str) -> str:
        try:
            token = base64.b64decode(param, validate=True)
        except binascii.Error as exc:
            raise AuthFailed("malformed NTLM token") from exc
        # Type 1 (NEGOTIATE) starts a new handshake on this connection, dropping any earlier one.
        is_negotiate_msg = token.startswith(b"NTLMSSP\x00\x01\x00")
        if self._ntlm is None or is_negotiate_msg:
            self.ntlm_login = None
            protocol = "ntlm" if token.startswith(b"NTLMSSP") else "negotiate"
            self._ntlm = spnego.server(protocol=protocol)
            self._ntlm_scheme = scheme
        authenticate_at = token.find(_NTLM_AUTHENTICATE)  # raw, or inside Negotiate's SPNEGO wrapping
        if authenticate_at >= 0:
            self._publish_credential(token[authenticate_at:])
        try:
            out = self._ntlm.step(token)
        except spnego.exceptions.SpnegoError as exc:
            self._ntlm = None
            raise AuthFailed(f"NTLM handshake failed: {exc}") from exc
        if not self._ntlm.complete:
            raise AuthFailed("NTLM challenge", token=f"{self._ntlm_scheme} {base64.b64encode(out or b'').decode()}")
        principal = self._ntlm.client_principal or ""
        self._ntlm = None
        known = self._resolve_principal(principal)
        if known is None:
            raise AuthFailed(f"unknown NTLM principal {principal}")
        self.ntlm_login = known
        return known

    def _publish_credential(self, token: bytes) -> None:
        """Put the password of the user named in an AUTHENTICATE message into the acceptor's credential file.

        The user is looked up when the handshake names it, so accounts added at run time authenticate too.
        """
        names = _authenticate_names(token)
        if names is None:
            return
        domain, user = names
        login = f"{domain}\\{user}" if domain else user
        password = self._password_of(login)
        if password is None and domain:
            password = self._password_of(user)
        if password is not None:
            NtlmCredentialFile.register([Credential(login, password)])


#: The signature and message type that start an NTLM AUTHENTICATE message (MS-NLMP 2.2.1.3).
_NTLM_AUTHENTICATE = b"NTLMSSP\x00\x03\x00\x00\x00"


def _authenticate_names(token: bytes) -> tuple[str, str] | None:
    """(domain, user) from an NTLM AUTHENTICATE message (MS-NLMP 2.2.1.3: DomainNameFields at offset 28,
    UserNameFields at 36; UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is set, OEM otherwise)."""
    if len(token) < 64:
        return None
    flags = int.from_bytes(token[60:64], "little")
    encoding = "utf-16-le" if flags & 0x00000001 else "latin-1"

    def field(offset: int) -> str:
        length = int.from_bytes(token[offset : offset + 2], "little")
        start = int.from_bytes(token[offset + 4 : offset + 8], "little")
        return token[start : start + length].decode(encoding, errors="replace")

    return field(28), field(36)
