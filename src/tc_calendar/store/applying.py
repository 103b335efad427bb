"""Applying a batch of sync actions (see :mod:`tc_calendar.sync.actions` for the rules) in one transaction.

The batch and the change-log entries it causes commit together or not at all. Entries are collected per
(user, occurrence) while the batch runs, so an occurrence touched twice in one batch gives each user one entry
describing the final state, and an action that changes nothing a user sees gives no entry at all.

Writers of occurrences queue behind one another (:func:`~tc_calendar.store.changelog.serialize_writers`, a no-op
on SQLite, which has a single writer anyway). That makes each batch's read-then-write decisions safe, and lets
the batch read the stored state of all the occurrences it names in a few queries up front and keep it current
in memory while it writes, instead of asking the database before every action.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Change, ChangeKind, Occurrence, OccurrenceKey, Response
from tc_calendar.store._keys import key_of
from tc_calendar.store._rows import attendee_values, key_values, occurrence_values
from tc_calendar.store._sql import in_chunks
from tc_calendar.store.changelog import NewChange, append, serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.tables import attendees, mailboxes, occurrences, visibility
from tc_calendar.sync.actions import Action, DropItem, DropOccurrence, PutOccurrence, SaveCheckpoint


@dataclass
class _Content:
    """What the batch needs to know about a stored occurrence's shared content."""

    id: int
    content_hash: str
    source_mailbox: str
    source_is_organizer: bool
    start: datetime
    end: datetime


@dataclass
class _Copy:
    """One mailbox's copy of an occurrence (its ``visibility`` row)."""

    item_id: str
    my_response: str
    content_hash: str
    from_organizer_copy: bool


@dataclass
class _Batch:
    """The transaction of one batch and the stored state it has read (and keeps current)."""

    connection: AsyncConnection
    now: datetime
    contents: dict[OccurrenceKey, _Content | None] = field(default_factory=dict)
    copies: dict[int, dict[str, _Copy]] = field(default_factory=dict)
    pending: dict[tuple[str, OccurrenceKey], NewChange] = field(default_factory=dict)
    seen_delta: Counter[str] = field(default_factory=Counter)

    def note(self, kind: ChangeKind, user: str, key: OccurrenceKey, payload: dict[str, object]) -> None:
        """Record that ``user``'s view of ``key`` changed; a later note for the same pair replaces this one."""
        self.pending.pop((user, key), None)
        self.pending[(user, key)] = NewChange(kind, user, key, payload)

    async def prefetch(self, keys: Iterable[OccurrenceKey]) -> None:
        """Read the stored content and copies of ``keys`` (a few queries for the whole batch)."""
        wanted = {key for key in keys if key not in self.contents}
        uids = sorted({key.uid for key in wanted})
        for chunk in in_chunks(uids):
            query = select(*_CONTENT_COLUMNS).where(occurrences.c.uid.in_(chunk))
            for row in await self.connection.execute(query):
                key = key_of(row.uid, row.recurrence_id)
                if key in wanted:
                    self.contents[key] = _content(row)
        for key in wanted:
            self.contents.setdefault(key, None)
        await self._load_copies([c.id for key in wanted if (c := self.contents[key]) is not None])

    async def content(self, key: OccurrenceKey) -> _Content | None:
        if key not in self.contents:
            await self.prefetch([key])
        return self.contents[key]

    async def _load_copies(self, ids: Sequence[int]) -> None:
        for occurrence_id in ids:
            self.copies.setdefault(occurrence_id, {})
        for chunk in in_chunks(ids):
            query = select(visibility).where(visibility.c.occurrence_id.in_(chunk))
            for row in await self.connection.execute(query):
                self.copies[row.occurrence_id][row.user_email] = _Copy(
                    row.item_id, row.my_response, row.content_hash, row.from_organizer_copy
                )


_CONTENT_COLUMNS = (
    occurrences.c.id,
    occurrences.c.uid,
    occurrences.c.recurrence_id,
    occurrences.c.content_hash,
    occurrences.c.source_mailbox,
    occurrences.c.source_is_organizer,
    occurrences.c.start_at,
    occurrences.c.end_at,
)


def _content(row: Any) -> _Content:
    return _Content(row.id, row.content_hash, row.source_mailbox, row.source_is_organizer, row.start_at, row.end_at)


async def apply_actions(connection: AsyncConnection, actions: Sequence[Action], now: datetime) -> list[Change]:
    """Apply ``actions`` in order inside the caller's transaction; return the change-log entries appended."""
    await serialize_writers(connection)
    batch = _Batch(connection, now)
    await batch.prefetch(_named_keys(actions))
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
    await _update_event_counts(batch)
    return await append(connection, list(batch.pending.values()), now)


def _named_keys(actions: Sequence[Action]) -> set[OccurrenceKey]:
    keys: set[OccurrenceKey] = set()
    for action in actions:
        if isinstance(action, PutOccurrence):
            keys.add(action.occurrence.key)
        elif isinstance(action, DropOccurrence):
            keys.add(action.key)
    return keys


async def _put(batch: _Batch, action: PutOccurrence) -> None:
    mailbox = action.mailbox.lower()
    occurrence = action.occurrence
    content = await batch.content(occurrence.key)
    if content is None:
        content = await _insert_content(batch, action)
        content_changed = True
    else:
        content_changed = await _maybe_replace_content(batch, content, action)
    mine_changed = await _upsert_copy(batch, content.id, action)
    if content_changed:
        for user, copy in sorted(batch.copies[content.id].items()):
            payload = _payload(Response(copy.my_response), content)
            batch.note(ChangeKind.UPSERT, user, occurrence.key, payload)
    elif mine_changed:
        batch.note(ChangeKind.UPSERT, mailbox, occurrence.key, _payload(action.my_response, content))


async def _insert_content(batch: _Batch, action: PutOccurrence) -> _Content:
    values = {**key_values(action.occurrence), **occurrence_values(action.occurrence), **_source(action, batch.now)}
    statement = insert(occurrences).values(values).returning(occurrences.c.id)
    occurrence_id = int((await batch.connection.execute(statement)).scalar_one())
    await _insert_attendees(batch.connection, occurrence_id, action.occurrence)
    content = _Content(
        occurrence_id,
        action.content_hash,
        action.mailbox.lower(),
        action.from_organizer_copy,
        action.occurrence.start,
        action.occurrence.end,
    )
    batch.contents[action.occurrence.key] = content
    batch.copies[occurrence_id] = {}
    return content


async def _maybe_replace_content(batch: _Batch, content: _Content, action: PutOccurrence) -> bool:
    """Take this copy's content when it may win (organizer copy, or no organizer copy stored) and differs."""
    if content.source_is_organizer and not action.from_organizer_copy:
        return False
    source = (action.mailbox.lower(), action.from_organizer_copy)
    if content.content_hash == action.content_hash:
        if (content.source_mailbox, content.source_is_organizer) != source:
            await _update_occurrence(batch.connection, content.id, _source(action, batch.now))
            content.source_mailbox, content.source_is_organizer = source
        return False
    values = {**occurrence_values(action.occurrence), **_source(action, batch.now)}
    await _update_occurrence(batch.connection, content.id, values)
    await batch.connection.execute(delete(attendees).where(attendees.c.occurrence_id == content.id))
    await _insert_attendees(batch.connection, content.id, action.occurrence)
    content.content_hash = action.content_hash
    content.source_mailbox, content.source_is_organizer = source
    content.start, content.end = action.occurrence.start, action.occurrence.end
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


async def _upsert_copy(batch: _Batch, occurrence_id: int, action: PutOccurrence) -> bool:
    """Make the occurrence visible to the action's mailbox; True when that is new or the answer changed."""
    mailbox = action.mailbox.lower()
    copy = _Copy(action.item_id, action.my_response.value, action.content_hash, action.from_organizer_copy)
    copies = batch.copies[occurrence_id]
    seen = copies.get(mailbox)
    if seen == copy:
        return False
    values = {
        "item_id": copy.item_id,
        "my_response": copy.my_response,
        "content_hash": copy.content_hash,
        "from_organizer_copy": copy.from_organizer_copy,
    }
    if seen is None:
        statement: Any = insert(visibility).values(user_email=mailbox, occurrence_id=occurrence_id, **values)
    else:
        statement = update(visibility).where(*_copy_row(mailbox, occurrence_id)).values(values)
    await batch.connection.execute(statement)
    copies[mailbox] = copy
    if seen is None:
        batch.seen_delta[mailbox] += 1
    return seen is None or seen.my_response != copy.my_response


def _copy_row(mailbox: str, occurrence_id: int) -> tuple[Any, Any]:
    return visibility.c.user_email == mailbox, visibility.c.occurrence_id == occurrence_id


def _payload(response: Response, content: _Content) -> dict[str, object]:
    """What an upsert entry tells a client without a read: the user's answer and where the occurrence lies."""
    return {"my_response": response.value, "start": content.start.isoformat(), "end": content.end.isoformat()}


async def _drop_key(batch: _Batch, mailbox: str, key: OccurrenceKey) -> None:
    content = await batch.content(key)
    if content is not None:
        await _drop_copy(batch, mailbox, key, content)


async def _drop_item(batch: _Batch, mailbox: str, item_id: str) -> None:
    query = (
        select(occurrences.c.uid, occurrences.c.recurrence_id)
        .join(visibility, visibility.c.occurrence_id == occurrences.c.id)
        .where(visibility.c.user_email == mailbox, visibility.c.item_id == item_id)
        .order_by(occurrences.c.start_at, occurrences.c.id)
    )
    keys = [key_of(row.uid, row.recurrence_id) for row in await batch.connection.execute(query)]
    await batch.prefetch(keys)
    for key in keys:
        await _drop_key(batch, mailbox, key)


async def _drop_copy(batch: _Batch, mailbox: str, key: OccurrenceKey, content: _Content) -> None:
    """Hide the occurrence from ``mailbox``; delete its content when nobody sees it any more."""
    copies = batch.copies[content.id]
    if copies.pop(mailbox, None) is None:
        return
    connection = batch.connection
    await connection.execute(delete(visibility).where(*_copy_row(mailbox, content.id)))
    batch.seen_delta[mailbox] -= 1
    batch.note(ChangeKind.DELETE, mailbox, key, {})
    if not copies:
        await connection.execute(delete(attendees).where(attendees.c.occurrence_id == content.id))
        await connection.execute(delete(occurrences).where(occurrences.c.id == content.id))
        batch.contents[key] = None
        del batch.copies[content.id]
    elif content.source_mailbox == mailbox and content.source_is_organizer:
        # The stored content came from this mailbox's organizer copy, which is gone: the remaining (attendee)
        # copies may replace it from now on.
        await _update_occurrence(connection, content.id, {"source_is_organizer": False})
        content.source_is_organizer = False


async def _update_event_counts(batch: _Batch) -> None:
    """Move each mailbox's ``event_count`` by the copies the batch added and removed."""
    for email, delta in sorted(batch.seen_delta.items()):
        if delta:
            statement = update(mailboxes).where(mailboxes.c.email == email)
            await batch.connection.execute(statement.values(event_count=mailboxes.c.event_count + delta))


async def _save_checkpoint(batch: _Batch, action: SaveCheckpoint) -> None:
    email = action.mailbox.lower()
    statement = (
        update(mailboxes)
        .where(mailboxes.c.email == email)
        .values(sync_state=action.sync_state, window_start=action.window_start, window_end=action.window_end)
    )
    if (await batch.connection.execute(statement)).rowcount == 0:
        raise MailboxNotFoundError(email)
