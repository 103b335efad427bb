"""The change log: what changed for which user, in commit order, so clients resume from a cursor.

Cursor order must equal commit order. On PostgreSQL a sequence hands out cursors at INSERT time, not at commit:
a transaction that took cursor 10 may commit after one that took 11, and a reader that already saw 11 would
never see 10. Every transaction that appends therefore first takes one transaction-level advisory lock
(:func:`serialize_writers`), held until it commits or rolls back: the next writer gets its cursors only after
the previous writer's entries are visible. SQLite needs nothing: it has one writer at a time.

Cursors increase but are not contiguous (a rolled-back transaction leaves a hole): resume with "after my last
cursor", never by counting. Old entries may be pruned; a client whose cursor is below :func:`pruned_through`
has missed entries and must reload its view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Change, ChangeKind, OccurrenceKey
from tc_calendar.store import caches
from tc_calendar.store._keys import encode_recurrence_id, key_of
from tc_calendar.store.notify import CHANNEL, NOTIFIER_OPTION
from tc_calendar.store.tables import change_log

#: pg_advisory_xact_lock key of the writers' queue ("tc-calendar log").
CHANGE_LOG_LOCK_KEY = 0x7463_6C6F_6700_0001


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change-log entry before it has a cursor."""

    kind: ChangeKind
    user: str
    key: OccurrenceKey | None
    payload: dict[str, object] = field(default_factory=dict)


async def serialize_writers(connection: AsyncConnection, *, by_key: bool = False) -> None:
    """Queue behind other writers of occurrences, visibility and the log until this transaction ends (PostgreSQL).

    ``by_key``: the transaction looks its rows up by key only (a sync batch), and the planner is told, in the same
    round trip, not to read whole tables. The plans of its statements are made once per connection and kept: made
    while the tables were nearly empty (the start of an initial sync), they read all of ``occurrences`` and
    ``visibility`` for every batch while the tables grew, until the server's next ANALYZE."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_LOCK_BY_KEY if by_key else _LOCK, {"key": CHANGE_LOG_LOCK_KEY})


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LOCK_BY_KEY = text("SELECT pg_advisory_xact_lock(:key), set_config('enable_seqscan', 'off', true)")


async def append(connection: AsyncConnection, entries: Sequence[NewChange], at: datetime) -> list[Change]:
    """Insert ``entries`` in order, in the caller's transaction (which must have called :func:`serialize_writers`)."""
    if not entries:
        return []
    rows = [_values(entry, at) for entry in entries]
    # The entries come back as stored, in cursor order. Asking the database for them in parameter order instead
    # (sort_by_parameter_order) makes SQLAlchemy insert one row per statement on SQLite.
    if connection.dialect.name == "postgresql":
        options = connection.sync_connection.get_execution_options() if connection.sync_connection else {}
        statement = _insert_notifying(str(options.get(NOTIFIER_OPTION, "")))
    else:
        statement = _INSERT
    return sorted((_change(row) for row in await connection.execute(statement, rows)), key=lambda c: c.cursor)


_INSERT = insert(change_log).returning(*change_log.c)


def _insert_notifying(notifier: str) -> Any:
    """On PostgreSQL the same INSERT also sends ``NOTIFY tc_calendar_changes``, delivered to LISTENing instances when
    (and only if) the transaction commits: no round trip of its own. Called for every row with the same payload (the
    appending store's :data:`NOTIFIER_OPTION`), it is delivered once (PostgreSQL folds identical notifications of one
    transaction), and the store that sent it knows it for its own commit, which it announced already."""
    return insert(change_log).returning(*change_log.c, func.pg_notify(CHANNEL, literal(notifier)).label("notified"))


async def changes_after(connection: AsyncConnection, cursor: int, users: set[str] | None, limit: int) -> list[Change]:
    """Up to ``limit`` entries after ``cursor`` in cursor order, only for ``users`` unless it is ``None``."""
    if users is not None and not users:
        return []
    query = select(change_log).where(change_log.c.cursor > cursor).order_by(change_log.c.cursor).limit(limit)
    if users is not None:
        query = query.where(change_log.c.user_email.in_(sorted(users)))
    return [_change(row) for row in await connection.execute(query)]


async def latest_cursor(connection: AsyncConnection) -> int:
    """The newest cursor (0 for a new log): a new subscriber that wants only future changes starts here.

    A log pruned empty still answers the last cursor it held, so subscribers never go back behind the prune.
    """
    value = (await connection.execute(select(func.max(change_log.c.cursor)))).scalar()
    return max(int(value or 0), await pruned_through(connection))


PRUNED_THROUGH = "changelog.pruned_through"


async def prune_before(connection: AsyncConnection, before: datetime) -> int:
    """Delete entries older than ``before``; cursors are never reused. Returns how many were deleted.

    The highest deleted cursor is remembered (meta ``changelog.pruned_through``) in the same transaction, so a
    client resuming from below it is told to reload instead of silently missing the pruned entries.
    """
    highest = (await connection.execute(select(func.max(change_log.c.cursor)).where(change_log.c.at < before))).scalar()
    if highest is None:
        return 0
    result = await connection.execute(delete(change_log).where(change_log.c.cursor <= highest))
    previous = int(await caches.get_meta(connection, PRUNED_THROUGH) or 0)
    await caches.set_meta(connection, PRUNED_THROUGH, str(max(previous, int(highest))))
    return int(result.rowcount)


async def pruned_through(connection: AsyncConnection) -> int:
    return int(await caches.get_meta(connection, PRUNED_THROUGH) or 0)


def _values(entry: NewChange, at: datetime) -> dict[str, Any]:
    key = entry.key
    return {
        "kind": entry.kind.value,
        "user_email": entry.user,
        "uid": key.uid if key else None,
        "recurrence_id": encode_recurrence_id(key.recurrence_id) if key else None,
        "at": at,
        "payload": entry.payload,
    }


def _change(row: Row[Any]) -> Change:
    key = None if row.uid is None else key_of(row.uid, row.recurrence_id)
    return Change(
        cursor=row.cursor,
        kind=ChangeKind(row.kind),
        user=row.user_email,
        key=key,
        at=row.at,
        payload=dict(row.payload),
    )
