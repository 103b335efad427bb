"""Queries that read occurrences: a user's calendar view, one occurrence, what the sync core diffs against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Row, Select, and_, bindparam, case, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Attendee, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store._keys import encode_recurrence_id, key_of
from tc_calendar.store._rows import attendee_from_row, occurrence_from_row
from tc_calendar.store._sql import IN_LIST_SIZE, in_chunks
from tc_calendar.store.tables import attendees, occurrences, visibility
from tc_calendar.sync.diff import StoredScope, StoredView


async def load_view(
    connection: AsyncConnection, user: str, start: datetime, end: datetime
) -> list[tuple[Occurrence, Response]]:
    """Occurrences ``user`` sees that overlap ``[start, end)``, by start time, each with the user's answer.

    An occurrence overlaps when it starts before ``end`` and ends after ``start``; a zero-length one (start equal
    to end) counts when it starts inside the range.
    """
    query = (
        select(occurrences, visibility.c.my_response)
        .join(visibility, visibility.c.occurrence_id == occurrences.c.id)
        .where(visibility.c.user_email == user)
        .where(occurrences.c.start_at < end)
        .where(or_(occurrences.c.end_at > start, occurrences.c.start_at >= start))
    )
    rows = await _ordered(connection, query)
    found = await _with_attendees(connection, rows)
    return [(occurrence, Response(row.my_response)) for occurrence, row in zip(found, rows, strict=True)]


async def get_occurrence(connection: AsyncConnection, key: OccurrenceKey) -> Occurrence | None:
    query = select(occurrences).where(
        occurrences.c.uid == key.uid, occurrences.c.recurrence_id == encode_recurrence_id(key.recurrence_id)
    )
    row = (await connection.execute(query)).first()
    return None if row is None else (await _with_attendees(connection, [row]))[0]


async def get_occurrences(
    connection: AsyncConnection, keys: Sequence[OccurrenceKey]
) -> dict[OccurrenceKey, Occurrence]:
    """:func:`get_occurrence` for many keys, a few queries in all; keys not stored are left out."""
    found: dict[OccurrenceKey, Occurrence] = {}
    for chunk in in_chunks(list(keys)):
        pairs = [(key.uid, encode_recurrence_id(key.recurrence_id)) for key in chunk]
        query = select(occurrences).where(tuple_(occurrences.c.uid, occurrences.c.recurrence_id).in_(pairs))
        for occurrence in await _with_attendees(connection, list(await connection.execute(query))):
            found[occurrence.key] = occurrence
    return found


async def conference_occurrences(connection: AsyncConnection, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences with a conference link, not cancelled, starting in ``[start, end)``: what the launcher runs."""
    query = (
        select(occurrences)
        .where(occurrences.c.conference_id.is_not(None), occurrences.c.cancelled.is_(False))
        .where(and_(occurrences.c.start_at >= start, occurrences.c.start_at < end))
    )
    return await _with_attendees(connection, await _ordered(connection, query))


async def item_ids(connection: AsyncConnection, mailbox: str) -> dict[OccurrenceKey, str]:
    """Key -> Exchange item id the occurrence came from in this mailbox."""
    query = _mailbox_copies(mailbox).add_columns(visibility.c.item_id)
    return {key_of(row.uid, row.recurrence_id): row.item_id for row in await connection.execute(query)}


async def stored_views(
    connection: AsyncConnection, mailbox: str, scope: StoredScope | None = None
) -> dict[OccurrenceKey, StoredView]:
    """Everything the sync core compares a mailbox's Exchange items with; with ``scope``, only what it covers (a
    scope too large for one ``IN`` list reads it all: more than the scope is never wrong, only slower)."""
    if scope is None or len(scope.item_ids) + len(scope.uids) > IN_LIST_SIZE:
        rows = await connection.execute(_STORED_VIEWS, {"mailbox": mailbox})
    elif not scope.item_ids and not scope.uids:
        return {}
    else:
        rows = await connection.execute(
            _STORED_VIEWS.where(
                or_(visibility.c.item_id.in_(sorted(scope.item_ids)), occurrences.c.uid.in_(sorted(scope.uids)))
            ),
            {"mailbox": mailbox},
        )
    return {
        key_of(row.uid, row.recurrence_id): StoredView(
            row.item_id, row.content_hash, Response(row.my_response), row.from_organizer_copy
        )
        for row in rows
    }


def _mailbox_copies(mailbox: str | BindParameter[str]) -> Select[Any]:
    return (
        select(occurrences.c.uid, occurrences.c.recurrence_id)
        .join(visibility, visibility.c.occurrence_id == occurrences.c.id)
        .where(visibility.c.user_email == mailbox)
    )


#: Built once: every sync cycle runs it, and building a statement costs more than running this one.
_STORED_VIEWS = _mailbox_copies(bindparam("mailbox")).add_columns(
    visibility.c.item_id, visibility.c.content_hash, visibility.c.my_response, visibility.c.from_organizer_copy
)


async def _ordered(connection: AsyncConnection, query: Select[Any]) -> list[Row[Any]]:
    ordered = query.order_by(occurrences.c.start_at, occurrences.c.uid, occurrences.c.recurrence_id)
    return list(await connection.execute(ordered))


async def _with_attendees(connection: AsyncConnection, rows: Sequence[Row[Any]]) -> list[Occurrence]:
    by_occurrence = await _attendees_of(connection, [row.id for row in rows])
    return [occurrence_from_row(row, by_occurrence.get(row.id, ())) for row in rows]


async def _attendees_of(connection: AsyncConnection, ids: Sequence[int]) -> dict[int, list[Attendee]]:
    found: dict[int, list[Attendee]] = defaultdict(list)
    for chunk in in_chunks(ids):
        query = (
            select(attendees)
            .where(attendees.c.occurrence_id.in_(chunk))
            .order_by(attendees.c.occurrence_id, attendees.c.position)
        )
        for row in await connection.execute(query):
            found[row.occurrence_id].append(attendee_from_row(row))
    return found


async def attendee_directory(connection: AsyncConnection, emails: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """How ``emails`` appear in meetings' attendee lists: e-mail -> (a display name, or '' if none is known; whether
    it was booked as a room or other resource). Addresses in no meeting are left out.

    Exchange gives no directory here, so what people and rooms are called is read from the meetings they are in.
    """
    found: dict[str, tuple[str, bool]] = {}
    for chunk in in_chunks(sorted(set(emails))):
        named = func.max(case((attendees.c.name != "", attendees.c.name)))
        resource = func.max(case((attendees.c.role == Role.RESOURCE.value, 1), else_=0))
        query = (
            select(attendees.c.email, named, resource).where(attendees.c.email.in_(chunk)).group_by(attendees.c.email)
        )
        for email, name, is_resource in await connection.execute(query):
            found[email] = (name or "", bool(is_resource))
        # organizers are kept with their occurrence, not in the attendee list
        organizer_name = func.max(case((occurrences.c.organizer_name != "", occurrences.c.organizer_name)))
        query = (
            select(occurrences.c.organizer_email, organizer_name)
            .where(occurrences.c.organizer_email.in_(chunk))
            .group_by(occurrences.c.organizer_email)
        )
        for email, name in await connection.execute(query):
            name_so_far, is_resource = found.get(email, ("", False))
            found[email] = (name_so_far or name or "", is_resource)
    return found
