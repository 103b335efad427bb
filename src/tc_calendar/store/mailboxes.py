"""Queries about mailboxes: registration, status, checkpoints and leases.

A lease says which connector instance synchronizes a mailbox until when. Several instances share one
PostgreSQL: each takes free (or expired) mailboxes with ``SELECT ... FOR UPDATE SKIP LOCKED`` so two instances
never take the same row, and a single conditional UPDATE for renewals. On SQLite the write transaction
(``BEGIN IMMEDIATE``) gives the same exclusivity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.store._sql import upsert_insert
from tc_calendar.store.changelog import serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.records import (
    ConfiguredMailbox,
    MailboxCheckpoint,
    MailboxOrigin,
    MailboxState,
    MailboxStatus,
)
from tc_calendar.store.tables import mailboxes, visibility

#: States in which a mailbox is not synchronized, hence never leased.
NOT_SYNCED = (MailboxState.DISABLED.value, MailboxState.OVER_LIMIT.value)
#: Config mailboxes in config order, then on-demand ones by arrival (NULLs sort differently per database).
_ORDER = (mailboxes.c.config_order.is_(None), mailboxes.c.config_order, mailboxes.c.requested_at, mailboxes.c.id)


async def register_config(connection: AsyncConnection, entries: Sequence[ConfiguredMailbox], now: datetime) -> None:
    """Make the store's config mailboxes exactly ``entries``, in that order.

    Listed mailboxes become (or stay) ``config`` with their position as order; a disabled one is enabled again.
    Config mailboxes no longer listed are disabled (their events stay until the service drops them).
    """
    await serialize_writers(connection)  # a new row's event_count must not miss a concurrent apply()
    listed: list[str] = []
    for entry in entries:
        email = entry.email.lower()
        if email in listed:
            continue
        await _upsert_config(connection, email, entry.provider_index, len(listed), now)
        listed.append(email)
    gone = mailboxes.c.origin == MailboxOrigin.CONFIG.value
    if listed:
        gone = gone & mailboxes.c.email.not_in(listed)
    await connection.execute(update(mailboxes).where(gone).values(state=MailboxState.DISABLED, config_order=None))


async def _upsert_config(connection: AsyncConnection, email: str, provider: int, order: int, now: datetime) -> None:
    values = {"provider_index": provider, "origin": MailboxOrigin.CONFIG.value, "config_order": order}
    statement = upsert_insert(connection, mailboxes).values(
        email=email, state=MailboxState.PENDING.value, first_seen_at=now, event_count=_seen_by(email), **values
    )
    excluded_state = statement.excluded.state
    revived = func.coalesce(func.nullif(mailboxes.c.state, MailboxState.DISABLED.value), excluded_state)
    upsert = statement.on_conflict_do_update(index_elements=["email"], set_={**values, "state": revived})
    await connection.execute(upsert)


async def register_on_demand(connection: AsyncConnection, email: str, provider_index: int, now: datetime) -> bool:
    """Add a mailbox a client asked for; True when it is new (an existing mailbox is left as it is)."""
    await serialize_writers(connection)  # a new row's event_count must not miss a concurrent apply()
    statement = (
        upsert_insert(connection, mailboxes)
        .values(
            email=email.lower(),
            provider_index=provider_index,
            origin=MailboxOrigin.ON_DEMAND.value,
            requested_at=now,
            state=MailboxState.PENDING.value,
            first_seen_at=now,
            event_count=_seen_by(email.lower()),
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(mailboxes.c.id)
    )
    return (await connection.execute(statement)).first() is not None


async def list_statuses(connection: AsyncConnection) -> list[MailboxStatus]:
    """Every mailbox: config ones in config order first, then on-demand ones by arrival."""
    query = _status_query().order_by(*_ORDER)
    return [_status(row) for row in await connection.execute(query)]


async def get_status(connection: AsyncConnection, email: str) -> MailboxStatus | None:
    row = (await connection.execute(_status_query().where(mailboxes.c.email == email.lower()))).first()
    return None if row is None else _status(row)


def _status_query() -> Select[Any]:
    return select(mailboxes)


def _seen_by(email: str) -> Any:
    """How many occurrences ``email`` sees already (events put before the mailbox was registered)."""
    return select(func.count()).where(visibility.c.user_email == email).scalar_subquery()


def _status(row: Row[Any]) -> MailboxStatus:
    return MailboxStatus(
        email=row.email,
        provider_index=row.provider_index,
        origin=MailboxOrigin(row.origin),
        config_order=row.config_order,
        requested_at=row.requested_at,
        state=MailboxState(row.state),
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        event_count=int(row.event_count),
        first_seen_at=row.first_seen_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
    )


async def update_mailbox(connection: AsyncConnection, email: str, **values: Any) -> None:
    """Set columns of one mailbox; :class:`MailboxNotFoundError` when it is not registered."""
    statement = update(mailboxes).where(mailboxes.c.email == email.lower()).values(**values)
    if (await connection.execute(statement)).rowcount == 0:
        raise MailboxNotFoundError(email.lower())


async def load_checkpoint(connection: AsyncConnection, email: str) -> MailboxCheckpoint | None:
    query = select(
        mailboxes.c.sync_state,
        mailboxes.c.window_start,
        mailboxes.c.window_end,
        mailboxes.c.subscription_id,
        mailboxes.c.watermark,
    ).where(mailboxes.c.email == email.lower())
    row = (await connection.execute(query)).first()
    if row is None:
        return None
    return MailboxCheckpoint(row.sync_state, row.window_start, row.window_end, row.subscription_id, row.watermark)


async def lease_free(connection: AsyncConnection, owner: str, limit: int, now: datetime, ttl: timedelta) -> list[str]:
    """Lease up to ``limit`` synchronizable mailboxes nobody holds (or whose lease expired); returns them.

    Mailboxes ``owner`` already holds are not returned again: keep them with :func:`renew`.
    """
    query = (
        select(mailboxes.c.id, mailboxes.c.email)
        .where(mailboxes.c.state.not_in(NOT_SYNCED), _free(now))
        .order_by(*_ORDER)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await connection.execute(query))
    if rows:
        statement = update(mailboxes).where(mailboxes.c.id.in_([row.id for row in rows]))
        await connection.execute(statement.values(lease_owner=owner, lease_expires_at=now + ttl))
    return [row.email for row in rows]


async def lease_one(connection: AsyncConnection, email: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or renew) the lease of one mailbox if nobody else holds it; True when ``owner`` now holds it."""
    statement = (
        update(mailboxes)
        .where(mailboxes.c.email == email.lower(), or_(_free(now), mailboxes.c.lease_owner == owner))
        .values(lease_owner=owner, lease_expires_at=now + ttl)
    )
    return bool((await connection.execute(statement)).rowcount == 1)


async def renew(connection: AsyncConnection, email: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Extend a lease ``owner`` still holds; False when it was lost (expired and taken by another instance)."""
    statement = (
        update(mailboxes)
        .where(mailboxes.c.email == email.lower(), mailboxes.c.lease_owner == owner)
        .values(lease_expires_at=now + ttl)
    )
    return bool((await connection.execute(statement)).rowcount == 1)


async def release(connection: AsyncConnection, owner: str, email: str | None) -> None:
    """Give up ``owner``'s lease of ``email``, or of every mailbox when ``email`` is None (shutdown)."""
    statement = update(mailboxes).where(mailboxes.c.lease_owner == owner)
    if email is not None:
        statement = statement.where(mailboxes.c.email == email.lower())
    await connection.execute(statement.values(lease_owner=None, lease_expires_at=None))


def _free(now: datetime) -> Any:
    return or_(mailboxes.c.lease_owner.is_(None), mailboxes.c.lease_expires_at < now)
