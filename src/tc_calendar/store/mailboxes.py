"""Queries about mailboxes: registration, status, checkpoints and leases.

A lease says which connector instance synchronizes a mailbox until when. Several instances share one
PostgreSQL: each takes free (or expired) mailboxes with ``SELECT ... FOR UPDATE SKIP LOCKED`` so two instances
never take the same row, and a single conditional UPDATE for renewals. On SQLite the write transaction
(``BEGIN IMMEDIATE``) gives the same exclusivity.

Every instance also says it is alive (:func:`announce_node`, a row in ``nodes`` that expires with its leases), so
each knows how many share the mailboxes and takes no more than its part: a node that starts later gets its part
instead of finding everything taken by the first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.addresses import MailboxAddress
from tc_calendar.store._sql import in_chunks, upsert_insert
from tc_calendar.store.changelog import serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.records import (
    ConfiguredMailbox,
    MailboxCheckpoint,
    MailboxOrigin,
    MailboxState,
    MailboxStatus,
    NodeCount,
    SyncStart,
)
from tc_calendar.store.tables import mailboxes, nodes, visibility

#: States in which a mailbox is not synchronized, hence never leased.
NOT_SYNCED = (MailboxState.DISABLED.value, MailboxState.OVER_LIMIT.value)
#: Config mailboxes in config order, then on-demand ones by arrival (NULLs sort differently per database).
_ORDER = (mailboxes.c.config_order.is_(None), mailboxes.c.config_order, mailboxes.c.requested_at, mailboxes.c.id)


async def register_config(connection: AsyncConnection, entries: Sequence[ConfiguredMailbox], now: datetime) -> None:
    """Make the store's config mailboxes exactly ``entries``, in that order.

    Listed mailboxes become (or stay) ``config`` with their position as order; a disabled one is enabled again.
    Config mailboxes no longer listed are disabled (their events stay until the service drops them). Runs at
    every start with up to tens of thousands of entries, so it reads all mailboxes once and writes only what
    differs.
    """
    await serialize_writers(connection)  # a new row's event_count must not miss a concurrent apply()
    wanted: dict[str, tuple[int, int]] = {}
    for entry in entries:
        wanted.setdefault(MailboxAddress(entry.email), (entry.provider_index, len(wanted)))
    columns = (mailboxes.c.email, mailboxes.c.origin, mailboxes.c.config_order, mailboxes.c.provider_index)
    query: Select[Any] = select(*columns, mailboxes.c.state)
    existing = {row.email: row for row in await connection.execute(query)}
    await _insert_config(connection, {e: w for e, w in wanted.items() if e not in existing}, now)
    await _update_config(connection, [_config_change(existing[e], w) for e, w in wanted.items() if e in existing])
    gone = [
        email
        for email, row in existing.items()
        if row.origin == MailboxOrigin.CONFIG.value and email not in wanted and row.state != MailboxState.DISABLED
    ]
    for chunk in in_chunks(gone):
        statement = update(mailboxes).where(mailboxes.c.email.in_(chunk))
        await connection.execute(statement.values(state=MailboxState.DISABLED.value, config_order=None))


async def _insert_config(connection: AsyncConnection, new: dict[str, tuple[int, int]], now: datetime) -> None:
    if not new:
        return
    seen = await _seen_counts(connection, sorted(new))
    rows = [
        {
            "email": email,
            "provider_index": provider,
            "origin": MailboxOrigin.CONFIG.value,
            "config_order": order,
            "state": MailboxState.PENDING.value,
            "first_seen_at": now,
            "event_count": seen.get(email, 0),
        }
        for email, (provider, order) in new.items()
    ]
    await connection.execute(insert(mailboxes), rows)


def _config_change(row: Row[Any], wanted: tuple[int, int]) -> dict[str, Any] | None:
    """The new values of an existing mailbox that is listed in the config, None when nothing changes."""
    provider, order = wanted
    state = MailboxState.PENDING.value if row.state == MailboxState.DISABLED.value else row.state
    current = (row.origin, row.config_order, row.provider_index, row.state)
    if current == (MailboxOrigin.CONFIG.value, order, provider, state):
        return None
    return {"key": row.email, "provider": provider, "order": order, "new_state": state}


async def _update_config(connection: AsyncConnection, changes: Sequence[dict[str, Any] | None]) -> None:
    rows = [change for change in changes if change is not None]
    if not rows:
        return
    statement = (
        update(mailboxes)
        .where(mailboxes.c.email == bindparam("key"))
        .values(
            origin=MailboxOrigin.CONFIG.value,
            config_order=bindparam("order"),
            provider_index=bindparam("provider"),
            state=bindparam("new_state"),
        )
    )
    await connection.execute(statement, rows)


async def _seen_counts(connection: AsyncConnection, emails: Sequence[str]) -> dict[str, int]:
    """How many occurrences each of ``emails`` already sees (events put before the mailbox was registered)."""
    counts: dict[str, int] = {}
    for chunk in in_chunks(emails):
        query = (
            select(visibility.c.user_email, func.count())
            .where(visibility.c.user_email.in_(chunk))
            .group_by(visibility.c.user_email)
        )
        counts.update({email: int(count) for email, count in await connection.execute(query)})
    return counts


async def register_on_demand(connection: AsyncConnection, email: str, provider_index: int, now: datetime) -> bool:
    """Add a mailbox a client asked for; True when it is new (an existing mailbox is left as it is)."""
    await serialize_writers(connection)  # a new row's event_count must not miss a concurrent apply()
    statement = (
        upsert_insert(connection, mailboxes)
        .values(
            email=MailboxAddress(email),
            provider_index=provider_index,
            origin=MailboxOrigin.ON_DEMAND.value,
            requested_at=now,
            last_requested_at=now,
            state=MailboxState.PENDING.value,
            first_seen_at=now,
            event_count=_seen_by(MailboxAddress(email)),
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
    row = (await connection.execute(_status_query().where(mailboxes.c.email == MailboxAddress(email)))).first()
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
        last_requested_at=row.last_requested_at,
    )


async def forget_on_demand(
    connection: AsyncConnection, email: str, requested_before: datetime | None = None
) -> bool:
    """Delete an on-demand mailbox's row; True when there was one (config mailboxes are never deleted).

    ``requested_before``: only if no client asked for it since then. The decision that a mailbox is idle is made
    on what was read a moment before; a client (on any node) may have asked for it in between.
    """
    statement = delete(mailboxes).where(
        mailboxes.c.email == MailboxAddress(email), mailboxes.c.origin == MailboxOrigin.ON_DEMAND.value
    )
    if requested_before is not None:
        last_asked = func.coalesce(mailboxes.c.last_requested_at, mailboxes.c.requested_at, mailboxes.c.first_seen_at)
        statement = statement.where(last_asked < requested_before)
    return bool((await connection.execute(statement)).rowcount)


async def update_mailbox(connection: AsyncConnection, email: str, **values: Any) -> None:
    """Set columns of one mailbox; :class:`MailboxNotFoundError` when it is not registered."""
    statement = update(mailboxes).where(mailboxes.c.email == MailboxAddress(email)).values(**values)
    if (await connection.execute(statement)).rowcount == 0:
        raise MailboxNotFoundError(MailboxAddress(email))


async def record_errors(connection: AsyncConnection, emails: Sequence[str], error: str, now: datetime) -> None:
    """State ``error`` with ``error`` as the last error for each registered mailbox of ``emails``."""
    for chunk in in_chunks(emails):
        statement = update(mailboxes).where(mailboxes.c.email.in_(chunk))
        await connection.execute(statement.values(state=MailboxState.ERROR.value, last_error=error, last_error_at=now))


_CHECKPOINT_COLUMNS = (
    mailboxes.c.sync_state,
    mailboxes.c.window_start,
    mailboxes.c.window_end,
    mailboxes.c.subscription_id,
    mailboxes.c.watermark,
)


async def load_sync_starts(connection: AsyncConnection, emails: Sequence[str]) -> dict[str, SyncStart]:
    """The sync starts of those of ``emails`` that are registered, by lower-case address, a few queries in all."""
    found: dict[str, SyncStart] = {}
    query = select(mailboxes.c.email, mailboxes.c.first_seen_at, mailboxes.c.event_count, *_CHECKPOINT_COLUMNS)
    for chunk in in_chunks(sorted({MailboxAddress(email) for email in emails})):
        for row in await connection.execute(query.where(mailboxes.c.email.in_(chunk))):
            found[row.email] = SyncStart(_checkpoint(row), row.first_seen_at, int(row.event_count))
    return found


def _checkpoint(row: Row[*tuple[Any, ...]]) -> MailboxCheckpoint:
    return MailboxCheckpoint(row.sync_state, row.window_start, row.window_end, row.subscription_id, row.watermark)


async def lease_free(connection: AsyncConnection, owner: str, limit: int, now: datetime, ttl: timedelta) -> list[str]:
    """Lease up to ``limit`` synchronizable mailboxes nobody holds (or whose lease expired); returns them.

    Mailboxes ``owner`` already holds are not returned again: keep them with :func:`renew_all`.
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
        .where(mailboxes.c.email == MailboxAddress(email), or_(_free(now), mailboxes.c.lease_owner == owner))
        .values(lease_owner=owner, lease_expires_at=now + ttl)
    )
    return bool((await connection.execute(statement)).rowcount == 1)


async def renew_all(connection: AsyncConnection, owner: str, now: datetime, ttl: timedelta) -> list[str]:
    """Extend every lease ``owner`` still holds in one statement; returns those mailboxes (the rest were lost)."""
    statement = (
        update(mailboxes)
        .where(mailboxes.c.lease_owner == owner)
        .values(lease_expires_at=now + ttl)
        .returning(mailboxes.c.email)
    )
    return sorted(row.email for row in await connection.execute(statement))


async def release(connection: AsyncConnection, owner: str, email: str | None) -> None:
    """Give up ``owner``'s lease of ``email``, or of every mailbox when ``email`` is None (shutdown)."""
    statement = update(mailboxes).where(mailboxes.c.lease_owner == owner)
    if email is not None:
        statement = statement.where(mailboxes.c.email == MailboxAddress(email))
    await connection.execute(statement.values(lease_owner=None, lease_expires_at=None))


async def release_some(connection: AsyncConnection, owner: str, emails: Sequence[str]) -> None:
    """Give up ``owner``'s leases of ``emails`` (handed to other nodes, whose next round takes them)."""
    for chunk in in_chunks(sorted({MailboxAddress(email) for email in emails})):
        statement = update(mailboxes).where(mailboxes.c.lease_owner == owner, mailboxes.c.email.in_(chunk))
        await connection.execute(statement.values(lease_owner=None, lease_expires_at=None))


async def announce_node(connection: AsyncConnection, node: str, now: datetime, ttl: timedelta) -> NodeCount:
    """Say that ``node`` is alive until ``now + ttl``; forget nodes silent for longer than that; count both."""
    statement = (
        upsert_insert(connection, nodes)
        .values(node_id=node, seen_at=now, expires_at=now + ttl)
        .on_conflict_do_update(index_elements=["node_id"], set_={"seen_at": now, "expires_at": now + ttl})
    )
    await connection.execute(statement)
    await connection.execute(delete(nodes).where(nodes.c.expires_at < now - ttl))
    alive = await connection.scalar(select(func.count()).select_from(nodes).where(nodes.c.expires_at > now))
    synced = await connection.scalar(
        select(func.count()).select_from(mailboxes).where(mailboxes.c.state.not_in(NOT_SYNCED))
    )
    return NodeCount(int(alive or 1), int(synced or 0))


async def forget_node(connection: AsyncConnection, node: str) -> None:
    """``node`` stops: the others count without it from their next round on."""
    await connection.execute(delete(nodes).where(nodes.c.node_id == node))


def _free(now: datetime) -> Any:
    return or_(mailboxes.c.lease_owner.is_(None), mailboxes.c.lease_expires_at < now)
