"""Small key/value data: the TrueConf user cache and the ``meta`` table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.addresses import MailboxAddress
from tc_calendar.store._sql import in_chunks, upsert_insert
from tc_calendar.store.errors import StoreError
from tc_calendar.store.records import TrueConfUser
from tc_calendar.store.tables import meta, trueconf_users


async def upsert_trueconf_users(connection: AsyncConnection, users: Sequence[TrueConfUser]) -> None:
    if not users:
        return
    rows = {
        MailboxAddress(user.email): {
            "email": MailboxAddress(user.email),
            "user_id": user.user_id,
            "display_name": user.display_name,
            "refreshed_at": user.refreshed_at,
        }
        for user in users
    }
    statement = upsert_insert(connection, trueconf_users)
    statement = statement.on_conflict_do_update(
        index_elements=["email"],
        set_={name: statement.excluded[name] for name in ("user_id", "display_name", "refreshed_at")},
    )
    await connection.execute(statement, list(rows.values()))


async def lookup_trueconf_users(connection: AsyncConnection, emails: Iterable[str]) -> dict[str, TrueConfUser]:
    """Cached users by lower-case e-mail; addresses not cached are absent from the result."""
    wanted = sorted({MailboxAddress(email) for email in emails})
    found: dict[str, TrueConfUser] = {}
    for chunk in in_chunks(wanted):
        query = select(trueconf_users).where(trueconf_users.c.email.in_(chunk))
        for row in await connection.execute(query):
            found[row.email] = TrueConfUser(row.email, row.user_id, row.display_name, row.refreshed_at)
    return found


async def get_meta(connection: AsyncConnection, key: str) -> str | None:
    value: str | None = (await connection.execute(select(meta.c.value).where(meta.c.key == key))).scalar()
    return value


async def set_meta(connection: AsyncConnection, key: str, value: str) -> None:
    statement = upsert_insert(connection, meta).values(key=key, value=value)
    await connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


async def set_meta_default(connection: AsyncConnection, key: str, value: str) -> str:
    """Store ``value`` unless ``key`` has one already; return the value that is stored (the first writer's)."""
    statement = upsert_insert(connection, meta).values(key=key, value=value)
    await connection.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    stored = await get_meta(connection, key)
    if stored is None:
        raise StoreError(f"meta key {key!r} vanished while it was being set")
    return stored
