"""Queries about conference launches: the claim row that makes each start happen exactly once.

A claim is an INSERT guarded by the unique (uid, recurrence id) constraint with ``ON CONFLICT DO NOTHING``: of
any number of callers, in any number of processes and across restarts, exactly one inserts the row and is told
to start the conference. There is no read-then-write window.

A finished claim is taken again with :func:`retry`, an UPDATE guarded by the row's state, so again exactly one
caller wins: ``failed`` rows (the launcher waits out a back-off first) and ``released`` ones (handed back before
the start, taken at once).

Just before ``run`` is sent the holder writes down that it sends it (:func:`mark_runs_sent`); a takeover keeps that
note, so whoever holds the claim next knows that the conference may already have been started.

Hundreds of conferences may start at the same moment: :func:`claim_many` and :func:`mark_runs_sent` work on
many occurrences in one statement each, so the starts wait for one transaction instead of one each.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import OccurrenceKey
from tc_calendar.store._keys import encode_recurrence_id, key_of
from tc_calendar.store._sql import in_chunks, upsert_insert
from tc_calendar.store.errors import LaunchNotFoundError
from tc_calendar.store.records import LaunchRecord, LaunchState
from tc_calendar.store.tables import launches

#: States a finished claim may be claimed again from (:func:`retry`).
RETRYABLE = (LaunchState.FAILED.value, LaunchState.RELEASED.value)
#: The last error of a claim taken over from a connector that stopped mid-start.
INTERRUPTED = "interrupted: the connector stopped"
#: How a failure that retrying cannot help is stored: its ``last_error`` starts with this (the column that
#: administrators read); :attr:`LaunchRecord.permanent` is read from it.
PERMANENT = "permanent: "


async def claim(
    connection: AsyncConnection,
    key: OccurrenceKey,
    conference_id: str,
    scheduled_at: datetime,
    owner: str,
    now: datetime,
) -> bool:
    """Insert the claim for ``key``; True only for the caller whose row was inserted."""
    statement = (
        upsert_insert(connection, launches)
        .values(
            uid=key.uid,
            recurrence_id=encode_recurrence_id(key.recurrence_id),
            conference_id=conference_id,
            scheduled_at=scheduled_at,
            claimed_by=owner,
            claimed_at=now,
            state=LaunchState.CLAIMED.value,
            attempts=1,
            late=False,
        )
        .on_conflict_do_nothing(index_elements=["uid", "recurrence_id"])
        .returning(launches.c.id)
    )
    return (await connection.execute(statement)).first() is not None


async def claim_many(
    connection: AsyncConnection,
    wanted: Sequence[tuple[OccurrenceKey, str, datetime]],
    owner: str,
    now: datetime,
) -> dict[OccurrenceKey, tuple[LaunchRecord, bool]]:
    """:func:`claim` for many (key, conference ID, start) at once: each key's record, and whether this caller's row
    was inserted (False: a record was there already; the caller may :func:`retry` it)."""
    found: dict[OccurrenceKey, tuple[LaunchRecord, bool]] = {}
    for chunk in in_chunks(list(wanted)):
        keys = [(key.uid, encode_recurrence_id(key.recurrence_id)) for key, _, _ in chunk]
        rows = [
            {
                "uid": uid, "recurrence_id": recurrence, "conference_id": conference_id, "scheduled_at": start,
                "claimed_by": owner, "claimed_at": now, "state": LaunchState.CLAIMED.value, "attempts": 1,
                "late": False,
            }
            for (uid, recurrence), (_, conference_id, start) in zip(keys, chunk, strict=True)
        ]  # fmt: skip
        statement = (
            upsert_insert(connection, launches)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["uid", "recurrence_id"])
            .returning(*launches.c)
        )
        for row in await connection.execute(statement):
            found[key_of(row.uid, row.recurrence_id)] = (_record(row), True)
        taken = [pair for (key, _, _), pair in zip(chunk, keys, strict=True) if key not in found]
        if taken:
            query = select(launches).where(tuple_(launches.c.uid, launches.c.recurrence_id).in_(taken))
            for row in await connection.execute(query):
                found.setdefault(key_of(row.uid, row.recurrence_id), (_record(row), False))
    return found


async def finish(
    connection: AsyncConnection,
    key: OccurrenceKey,
    state: LaunchState,
    error: str | None,
    late: bool,
    now: datetime,
    run_refused: bool = False,
    permanent: bool = False,
    owner: str | None = None,
) -> None:
    """Record how a claimed start ended (``started``, ``failed`` or ``skipped``); :func:`release` hands one back.

    ``owner``: the attempt that ends, recorded only while it still holds the claim. An attempt that took so long
    that another connector took its claim over as stale must not overwrite that connector's outcome
    (:class:`LaunchNotFoundError`).

    ``run_refused``: TrueConf Server answered the ``run`` sent by this attempt that it did not start the conference,
    so the note of :func:`mark_runs_sent` is taken back. ``permanent``: a failure that retrying cannot help; the
    launch is never claimed again by the launcher (:attr:`LaunchRecord.permanent`).
    """
    if state is LaunchState.RELEASED:
        raise ValueError("a claim is handed back with release(), which checks that the caller still holds it")
    if permanent:
        if state is not LaunchState.FAILED:
            raise ValueError(f"only a failed launch fails for good, not a {state.value} one")
        error = PERMANENT + (error or "")
    finished_at = None if state is LaunchState.CLAIMED else now
    values: dict[str, Any] = {"state": state.value, "last_error": error, "late": late, "finished_at": finished_at}
    if run_refused:
        values["run_sent_at"] = None
    statement = update(launches).where(*_where(key)).values(**values)
    if owner is not None:
        statement = statement.where(launches.c.claimed_by == owner)
    if (await connection.execute(statement)).rowcount == 0:
        if owner is not None and await get(connection, key) is not None:
            raise LaunchNotFoundError(f"{owner} no longer holds the claim for {key}: another connector took it over")
        raise LaunchNotFoundError(f"no launch was claimed for {key}")


async def mark_runs_sent(
    connection: AsyncConnection, keys: Sequence[OccurrenceKey], owner: str, now: datetime
) -> set[OccurrenceKey]:
    """Write down, before ``run`` is sent, that ``owner`` is sending it, for many claims in one statement; returns
    those ``owner`` still holds (it must not send ``run`` for the others: they were taken over as stale)."""
    marked: set[OccurrenceKey] = set()
    for chunk in in_chunks(list(keys)):
        statement = (
            update(launches)
            .where(
                tuple_(launches.c.uid, launches.c.recurrence_id).in_(
                    [(key.uid, encode_recurrence_id(key.recurrence_id)) for key in chunk]
                ),
                launches.c.state == LaunchState.CLAIMED.value,
                launches.c.claimed_by == owner,
            )
            .values(run_sent_at=now)
            .returning(launches.c.uid, launches.c.recurrence_id)
        )
        marked |= {key_of(row.uid, row.recurrence_id) for row in await connection.execute(statement)}
    return marked


async def release(
    connection: AsyncConnection,
    key: OccurrenceKey,
    owner: str,
    state: LaunchState,
    reason: str,
    now: datetime,
) -> None:
    """Hand back ``owner``'s claim without starting: ``released`` (claimable again at once) or ``skipped``.

    Only the claim's holder, and only while it is still in progress: a start already recorded as made stays made,
    and a claim another node took over as stale is that node's to finish, so handing back can never open the way
    to a second start.
    """
    if state not in (LaunchState.RELEASED, LaunchState.SKIPPED):
        raise ValueError(f"a claim is handed back as released or skipped, not {state.value}")
    statement = (
        update(launches)
        .where(*_where(key), launches.c.state == LaunchState.CLAIMED.value, launches.c.claimed_by == owner)
        .values(state=state.value, last_error=reason, late=False, finished_at=now)
    )
    if (await connection.execute(statement)).rowcount == 0:
        raise LaunchNotFoundError(f"no claim of {owner} in progress for {key} to hand back: finished or taken over")


async def retry(
    connection: AsyncConnection,
    key: OccurrenceKey,
    owner: str,
    now: datetime,
    scheduled_at: datetime | None = None,
    conference_id: str | None = None,
    stale_before: datetime | None = None,
) -> bool:
    """Claim a ``failed`` or ``released`` start again, or take over a claim made before ``stale_before`` (its
    connector stopped mid-start); one caller wins, as with :func:`claim`.

    One statement decides, so two nodes that both see a stale claim cannot both take it. A retry after a failure or
    an interrupted start counts as another attempt; a claim handed back never tried to start, and the attempts set
    the launcher's back-off. ``scheduled_at`` and ``conference_id`` record what is started now (a rescheduled meeting
    keeps its key but not its start time), so listings show the time it really starts.

    The note that ``run`` was sent (:func:`mark_runs_sent`) is kept: the new holder must know that the conference may
    have been started. Only a new start time clears it.
    """
    claimable: ColumnElement[bool] = launches.c.state.in_(RETRYABLE)
    stale: ColumnElement[bool] = launches.c.state == LaunchState.CLAIMED.value
    if stale_before is not None:
        stale = and_(stale, launches.c.claimed_at < stale_before)
        claimable = or_(claimable, stale)
    values: dict[str, Any] = {
        "state": LaunchState.CLAIMED.value,
        "claimed_by": owner,
        "claimed_at": now,
        "attempts": launches.c.attempts + case((launches.c.state == LaunchState.RELEASED.value, 0), else_=1),
        "last_error": case((stale, INTERRUPTED), else_=launches.c.last_error),
        "finished_at": None,
    }
    if scheduled_at is not None:
        values["scheduled_at"] = scheduled_at
        # A start sent for another time says nothing about this one (the meeting was rescheduled since).
        values["run_sent_at"] = case((launches.c.scheduled_at == scheduled_at, launches.c.run_sent_at), else_=None)
    if conference_id is not None:
        values["conference_id"] = conference_id
    statement = update(launches).where(*_where(key), claimable).values(**values)
    return bool((await connection.execute(statement)).rowcount == 1)


async def get(connection: AsyncConnection, key: OccurrenceKey) -> LaunchRecord | None:
    row = (await connection.execute(select(launches).where(*_where(key)))).first()
    return None if row is None else _record(row)


async def get_many(connection: AsyncConnection, keys: Sequence[OccurrenceKey]) -> dict[OccurrenceKey, LaunchRecord]:
    """The launch records of those of ``keys`` that have one."""
    found: dict[OccurrenceKey, LaunchRecord] = {}
    for chunk in in_chunks(list(keys)):
        pairs = [(key.uid, encode_recurrence_id(key.recurrence_id)) for key in chunk]
        query = select(launches).where(tuple_(launches.c.uid, launches.c.recurrence_id).in_(pairs))
        for row in await connection.execute(query):
            found[key_of(row.uid, row.recurrence_id)] = _record(row)
    return found


async def list_launches(
    connection: AsyncConnection, states: Collection[LaunchState] | None, limit: int
) -> list[LaunchRecord]:
    """Launches by scheduled start, optionally only in ``states``."""
    query = select(launches).order_by(launches.c.scheduled_at, launches.c.id).limit(limit)
    if states is not None:
        query = query.where(launches.c.state.in_([state.value for state in states]))
    return [_record(row) for row in await connection.execute(query)]


async def prune_before(connection: AsyncConnection, before: datetime) -> int:
    """Forget launches scheduled before ``before`` that are not in progress (started, failed, skipped or
    released); returns how many were deleted.

    Only do this for times the sync window no longer covers: a pruned claim no longer stops a second start.
    """
    statement = delete(launches).where(launches.c.scheduled_at < before, launches.c.state != LaunchState.CLAIMED.value)
    return int((await connection.execute(statement)).rowcount)


def _where(key: OccurrenceKey) -> tuple[Any, Any]:
    return launches.c.uid == key.uid, launches.c.recurrence_id == encode_recurrence_id(key.recurrence_id)


def _record(row: Row[Any]) -> LaunchRecord:
    return LaunchRecord(
        key=key_of(row.uid, row.recurrence_id),
        conference_id=row.conference_id,
        scheduled_at=row.scheduled_at,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        state=LaunchState(row.state),
        attempts=row.attempts,
        late=row.late,
        last_error=row.last_error,
        finished_at=row.finished_at,
        run_sent_at=row.run_sent_at,
        permanent=row.state == LaunchState.FAILED.value and (row.last_error or "").startswith(PERMANENT.strip()),
    )
