"""Mailbox addresses: the one form in which the connector compares them, and which service account serves one.

Below the providers and the engine, so that a provider, the sync engine, the store, the launcher, the API and
``check-config --online`` agree on a mailbox's identity and on its service account without importing each other.
Wherever an address crosses from one module to another as a mailbox's identity it is a :class:`MailboxAddress`.
"""

from __future__ import annotations

import functools
import hashlib


class MailboxAddress(str):
    """A mailbox's identity: its SMTP address, trimmed and lower-cased (Exchange addresses are case-insensitive).

    A ``str``, so it goes into SQL, JSON and log lines as it is; two addresses that differ only in case or in
    surrounding blanks are the same :class:`MailboxAddress`. Building one from one is free.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> MailboxAddress:
        if type(text) is cls:
            return text
        return super().__new__(cls, text.strip().lower())


@functools.lru_cache(maxsize=65536)
def pick_credential(email: str, credential_count: int) -> int:
    """The service account (index into ``credentials``) that serves ``email``.

    Deterministic across restarts and processes (a hash of the address, not Python's salted ``hash``), so a
    mailbox keeps its service account, its persisted streaming subscription stays valid, and load spreads evenly.
    Remembered: every EWS request asks it, and a SHA-256 each time was 1% of an initial sync's CPU.
    """
    if credential_count < 1:
        raise ValueError("a provider needs at least one credential")
    digest = hashlib.sha256(MailboxAddress(email).encode()).digest()
    return int.from_bytes(digest[:8], "big") % credential_count
