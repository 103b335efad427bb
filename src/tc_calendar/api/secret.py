"""The shared API secret: configured, or generated on first start so a seed config never means open access.

The generated secret is kept in the store's ``meta`` table (so every connector node sharing one PostgreSQL uses
the same one) and printed by ``tc_calendar api-secret`` for the administrator to enter on TrueConf Server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tc_calendar.api.ports import MetaStore

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
