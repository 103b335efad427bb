"""The shared API secret: configured, or generated on first start so a seed config never means open access.

The generated secret is kept in the store's ``meta`` table (so every connector node sharing one PostgreSQL uses
the same one) and printed by ``tc_calendar api-secret`` for the administrator to enter on TrueConf Server.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from tc_calendar.api.ports import MetaStore

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


async def ensure_api_secret(meta: MetaStore, configured: str | None) -> ApiSecret:
    """The secret to use: the configured one, else the stored one, else a new one (stored before it is used)."""
    if configured:
        return ApiSecret(configured, "config")
    stored = await meta.get_meta(META_KEY)
    if stored:
        return ApiSecret(stored, "store")
    value = generate_secret()
    stored = await meta.set_meta_default(META_KEY, value)  # another node may have won the race: use its secret
    return ApiSecret(stored, "generated" if stored == value else "store")


async def read_api_secret(meta: MetaStore, configured: str | None) -> str | None:
    """For ``tc_calendar api-secret``: the secret in force, without creating one."""
    if configured:
        return configured
    return await meta.get_meta(META_KEY)


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
        return await read_api_secret(store, None)


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
