"""Mailbox addresses: the one form in which the connector compares them, and which service account serves one.

Below the providers and the engine, so that a provider, the sync engine and ``check-config --online`` agree on
a mailbox's identity and on its service account without importing each other.
"""

from __future__ import annotations

import hashlib


def normalize_email(email: str) -> str:
    """Mailbox identity: the SMTP address, trimmed and lower-cased (Exchange addresses are case-insensitive)."""
    return email.strip().lower()


def pick_credential(email: str, credential_count: int) -> int:
    """The service account (index into ``credentials``) that serves ``email``.

    Deterministic across restarts and processes (a hash of the address, not Python's salted ``hash``), so a
    mailbox keeps its service account, its persisted streaming subscription stays valid, and load spreads evenly.
    """
    if credential_count < 1:
        raise ValueError("a provider needs at least one credential")
    digest = hashlib.sha256(normalize_email(email).encode()).digest()
    return int.from_bytes(digest[:8], "big") % credential_count
