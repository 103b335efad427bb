"""The shared API secret: configured, or generated on first start so a seed config never means open access.

The generated secret is kept in the store's ``meta`` table (so every connector node sharing one PostgreSQL uses
the same one) and printed by ``tc_calendar api-secret`` for the administrator to enter on TrueConf Server. It is
stored encrypted with the key file that encrypts config.json's secrets (:mod:`tc_calendar.crypto`): it lets its
holder act as TrueConf Server and derives the web session key, so a copy of the database must not reveal it.
Nodes sharing a database therefore share the key file. A secret stored in plain text by an earlier version is
kept and encrypted in place on the next start.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from tc_calendar.api.ports import MetaStore
from tc_calendar.crypto import SecretBox, looks_encrypted
from tc_calendar.errors import SecretError

if TYPE_CHECKING:
    from tc_calendar.config import Settings

META_KEY = "api.secret"


@dataclass(frozen=True, slots=True)
class ApiSecret:
    value: str
    #: Where it came from: "config" (``api.secret``), "generated" (just now) or "store" (generated earlier).
    source: str


def generate_secret() -> str:
    """256 random bits, URL-safe: easy to paste into TrueConf Server's settings."""
    return secrets.token_urlsafe(32)


def _decrypt_stored(stored: str, box: SecretBox) -> str:
    """The plaintext of a stored secret; one stored in plain text by an earlier version is returned as it is."""
    if not looks_encrypted(stored):
        return stored
    try:
        return box.decrypt(stored)
    except SecretError:
        raise SecretError(
            f"the API secret stored in the database cannot be decrypted with the key file {box.key_file}; every "
            "connector node sharing this database needs the same key file: copy it from the node that first started"
        ) from None


async def ensure_api_secret(meta: MetaStore, configured: str | None, box: SecretBox) -> ApiSecret:
    """The secret to use: the configured one, else the stored one, else a new one (stored before it is used).

    What is stored is encrypted with ``box``; a plain-text value left by an earlier version is encrypted in place.
    """
    if configured:
        return ApiSecret(configured, "config")
    stored = await meta.get_meta(META_KEY)
    if stored:
        value = _decrypt_stored(stored, box)
        if not looks_encrypted(stored):
            await meta.set_meta(META_KEY, box.encrypt(value))
        return ApiSecret(value, "store")
    value = generate_secret()
    # another node may have won the race: use its secret
    stored = await meta.set_meta_default(META_KEY, box.encrypt(value))
    won = _decrypt_stored(stored, box)
    return ApiSecret(won, "generated" if won == value else "store")


async def read_api_secret(meta: MetaStore, configured: str | None, box: SecretBox) -> str | None:
    """For ``tc_calendar api-secret``: the secret in force, without creating one."""
    if configured:
        return configured
    stored = await meta.get_meta(META_KEY)
    return _decrypt_stored(stored, box) if stored else None


def secret_notice(secret: ApiSecret) -> str:
    """The log line printed when a secret was generated; it says how to read it, never the secret itself."""
    return (
        "api.secret is not set in config.json: generated a shared secret for TrueConf Server and stored it in "
        "the database; print it with `tc_calendar api-secret` and enter it on TrueConf Server"
    )


def configured_secret(settings: Settings) -> str | None:
    """``api.secret`` from config.json, decrypted; ``None`` when absent or empty."""
    secret = settings.api.secret
    return (secret.get_secret_value() or None) if secret is not None else None


async def stored_secret(settings: Settings) -> str | None:
    """The secret in force: configured, else the one the service generated in the database."""
    from tc_calendar.store import Store
    from tc_calendar.store.migrate import current_revision

    configured = configured_secret(settings)
    if configured:
        return configured
    if await current_revision(settings.database_url) is None:  # the service never started on this database
        return None
    async with Store.open(settings.database_url) as store:
        return await read_api_secret(store, None, SecretBox.load(settings.key_file))


def show(settings: Settings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``tc_calendar api-secret``: print the shared secret alone on one line (exit 0), or say why there is none."""
    secret = asyncio.run(stored_secret(settings))
    if secret is None:
        print(
            "tc_calendar: no API secret yet: api.secret is not set in config.json and the service has not "
            "generated one in the database; start the service once, or set api.secret (encrypt it with "
            "tc_calendar --hash_pass)",
            file=err or sys.stderr,
        )
        return 1
    print(secret, file=out or sys.stdout)
    return 0
