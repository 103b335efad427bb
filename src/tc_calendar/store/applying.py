"""Applying a batch of sync actions (see :mod:`tc_calendar.sync.actions` for the rules) in one transaction.

The batch and the change-log entries it causes commit together or not at all. Entries are collected per
(user, occurrence) while the batch runs, so an occurrence touched twice in one batch gives each user one entry
describing the final state, and an action that changes nothing a user sees gives no entry at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Change, ChangeKind, Occurrence, OccurrenceKey, Response
from tc_calendar.store._keys import encode_recurrence_id, key_of
from tc_calendar.store._rows import attendee_values, key_values, occurrence_values
from tc_calendar.store.changelog import NewChange, append, serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.tables import attendees, mailboxes, occurrences, visibility
from tc_calendar.sync.actions import Action, DropItem, DropOccurrence, PutOccurrence, SaveCheckpoint


@dataclass
class _Batch:
    connection: AsyncConnection
    now: datetime
    pending: dict[tuple[str, OccurrenceKey], NewChange] = field(default_factory=dict)

    def note(self, kind: ChangeKind, user: str, key: OccurrenceKey, payload: dict[str, object]) -> None:
        """Record that ``user``'s view of ``key`` changed; a later note for the same pair replaces this one."""
        self.pending.pop((user, key), None)
        self.pending[(user, key)] = NewChange(kind, user, key, payload)


async def apply_actions(connection: AsyncConnection, actions: Sequence[Action], now: datetime) -> list[Change]:
    """Apply ``actions`` in order inside the caller's transaction; return the change-log entries appended."""
    await serialize_writers(connection)
    batch = _Batch(connection, now)
    for action in actions:
        match action:
            case PutOccurrence():
                await _put(batch, action)
            case DropOccurrence():
                await _drop_key(batch, action.mailbox.lower(), action.key)
            case DropItem():
                await _drop_item(batch, action.mailbox.lower(), action.item_id)
            case SaveCheckpoint():
                await _save_checkpoint(batch, action)
    return await append(connection, list(batch.pending.values()), now)


async def _put(batch: _Batch, action: PutOccurrence) -> None:
    mailbox = action.mailbox.lower()
    occurrence = action.occurrence
    stored = await _find(batch.connection, occurrence.key)
    if stored is None:
        occurrence_id = await _insert_content(batch, action)
        content_changed = True
    else:
        occurrence_id = stored.id
        content_changed = await _maybe_replace_content(batch, stored, action)
    mine_changed = await _upsert_visibility(batch.connection, occurrence_id, action)
    if content_changed:
        for user, response in await _viewers(batch.connection, occurrence_id):
            batch.note(ChangeKind.UPSERT, user, occurrence.key, _payload(response, occurrence.start, occurrence.end))
    elif mine_changed and stored is not None:
        payload = _payload(action.my_response, stored.start_at, stored.end_at)
        batch.note(ChangeKind.UPSERT, mailbox, occurrence.key, payload)


async def _find(connection: AsyncConnection, key: OccurrenceKey) -> Row[Any] | None:
    query: Select[Any] = select(
        occurrences.c.id,
        occurrences.c.content_hash,
        occurrences.c.source_mailbox,
        occurrences.c.source_is_organizer,
        occurrences.c.start_at,
        occurrences.c.end_at,
    ).where(occurrences.c.uid == key.uid, occurrences.c.recurrence_id == encode_recurrence_id(key.recurrence_id))
    row: Row[Any] | None = (await connection.execute(query)).first()
    return row


async def _insert_content(batch: _Batch, action: PutOccurrence) -> int:
    values = {
        **key_values(action.occurrence),
        **occurrence_values(action.occurrence),
        **_source(action, batch.now),
    }
    statement = insert(occurrences).values(values).returning(occurrences.c.id)
    occurrence_id = int((await batch.connection.execute(statement)).scalar_one())
    await _insert_attendees(batch.connection, occurrence_id, action.occurrence)
    return occurrence_id


async def _maybe_replace_content(batch: _Batch, stored: Row[Any], action: PutOccurrence) -> bool:
    """Take this copy's content when it may win (organizer copy, or no organizer copy stored) and differs."""
    if stored.source_is_organizer and not action.from_organizer_copy:
        return False
    if stored.content_hash == action.content_hash:
        if (stored.source_mailbox, stored.source_is_organizer) != (action.mailbox.lower(), action.from_organizer_copy):
            await _update_occurrence(batch.connection, stored.id, _source(action, batch.now))
        return False
    values = {**occurrence_values(action.occurrence), **_source(action, batch.now)}
    await _update_occurrence(batch.connection, stored.id, values)
    await batch.connection.execute(delete(attendees).where(attendees.c.occurrence_id == stored.id))
    await _insert_attendees(batch.connection, stored.id, action.occurrence)
    return True


def _source(action: PutOccurrence, now: datetime) -> dict[str, Any]:
    return {
        "content_hash": action.content_hash,
        "source_mailbox": action.mailbox.lower(),
        "source_is_organizer": action.from_organizer_copy,
        "updated_at": now,
    }


async def _update_occurrence(connection: AsyncConnection, occurrence_id: int, values: dict[str, Any]) -> None:
    await connection.execute(update(occurrences).where(occurrences.c.id == occurrence_id).values(values))


async def _insert_attendees(connection: AsyncConnection, occurrence_id: int, occurrence: Occurrence) -> None:
    rows = attendee_values(occurrence_id, occurrence.attendees)
    if rows:
        await connection.execute(insert(attendees), rows)


async def _upsert_visibility(connection: AsyncConnection, occurrence_id: int, action: PutOccurrence) -> bool:
    """Make the occurrence visible to the action's mailbox; True when that is new or the answer changed."""
    mailbox = action.mailbox.lower()
    values = {
        "item_id": action.item_id,
        "my_response": action.my_response.value,
        "content_hash": action.content_hash,
        "from_organizer_copy": action.from_organizer_copy,
    }
    where = (visibility.c.user_email == mailbox, visibility.c.occurrence_id == occurrence_id)
    seen = (await connection.execute(select(visibility).where(*where))).first()
    if seen is None:
        await connection.execute(insert(visibility).values(user_email=mailbox, occurrence_id=occurrence_id, **values))
        return True
    if any(seen._mapping[name] != value for name, value in values.items()):
        await connection.execute(update(visibility).where(*where).values(values))
    return bool(seen.my_response != action.my_response.value)


async def _viewers(connection: AsyncConnection, occurrence_id: int) -> list[tuple[str, Response]]:
    query = (
        select(visibility.c.user_email, visibility.c.my_response)
        .where(visibility.c.occurrence_id == occurrence_id)
        .order_by(visibility.c.user_email)
    )
    return [(row.user_email, Response(row.my_response)) for row in await connection.execute(query)]


def _payload(response: Response, start: datetime, end: datetime) -> dict[str, object]:
    """What an upsert entry tells a client without a read: the user's answer and where the occurrence lies."""
    return {"my_response": response.value, "start": start.isoformat(), "end": end.isoformat()}


async def _drop_key(batch: _Batch, mailbox: str, key: OccurrenceKey) -> None:
    stored = await _find(batch.connection, key)
    if stored is not None:
        await _drop_visible(batch, mailbox, stored.id, key, stored.source_mailbox)


async def _drop_item(batch: _Batch, mailbox: str, item_id: str) -> None:
    query = (
        select(occurrences.c.id, occurrences.c.uid, occurrences.c.recurrence_id, occurrences.c.source_mailbox)
        .join(visibility, visibility.c.occurrence_id == occurrences.c.id)
        .where(visibility.c.user_email == mailbox, visibility.c.item_id == item_id)
        .order_by(occurrences.c.start_at, occurrences.c.id)
    )
    for row in list(await batch.connection.execute(query)):
        key = key_of(row.uid, row.recurrence_id)
        await _drop_visible(batch, mailbox, row.id, key, row.source_mailbox)


async def _drop_visible(
    batch: _Batch, mailbox: str, occurrence_id: int, key: OccurrenceKey, source_mailbox: str
) -> None:
    """Hide the occurrence from ``mailbox``; delete its content when nobody sees it any more."""
    connection = batch.connection
    where = (visibility.c.user_email == mailbox, visibility.c.occurrence_id == occurrence_id)
    if (await connection.execute(delete(visibility).where(*where))).rowcount == 0:
        return
    batch.note(ChangeKind.DELETE, mailbox, key, {})
    remaining = (
        await connection.execute(select(func.count()).where(visibility.c.occurrence_id == occurrence_id))
    ).scalar_one()
    if remaining == 0:
        await connection.execute(delete(attendees).where(attendees.c.occurrence_id == occurrence_id))
        await connection.execute(delete(occurrences).where(occurrences.c.id == occurrence_id))
    elif source_mailbox == mailbox:
        # The stored content came from this mailbox's copy, which is gone: let the remaining copies replace it.
        await _update_occurrence(connection, occurrence_id, {"source_is_organizer": False})


async def _save_checkpoint(batch: _Batch, action: SaveCheckpoint) -> None:
    email = action.mailbox.lower()
    statement = (
        update(mailboxes)
        .where(mailboxes.c.email == email)
        .values(sync_state=action.sync_state, window_start=action.window_start, window_end=action.window_end)
    )
    if (await batch.connection.execute(statement)).rowcount == 0:
        raise MailboxNotFoundError(email)
