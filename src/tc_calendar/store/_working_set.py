"""The rows one :func:`~tc_calendar.store.applying.apply_actions` batch works on, read once and written late.

A batch reads the stored state of the occurrences it names in a few queries, keeps it current in memory while
the rules decide, and buffers the many small inserts (new occurrences, which get provisional negative ids until
then, their attendees, visibility rows) and the updates of occurrences and visibility rows so that they reach the
database as a few multi-row statements. Every statement that reads those tables flushes the buffer
first, so the database never answers from a state the batch has already changed. Only the batch's own
transaction sees any of this; other writers wait for it (see ``serialize_writers``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Update, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import OccurrenceKey, Response
from tc_calendar.store._copies import occurrence_from_json, occurrence_to_json
from tc_calendar.store._keys import key_of
from tc_calendar.store._sql import in_chunks, one_of
from tc_calendar.store.tables import attendees, occurrences, visibility
from tc_calendar.sync.merge import HeldCopy, Kept, Shown

CopyKey = tuple[str, int]  # (mailbox, occurrence id)


@dataclass
class Content:
    """A stored occurrence's row id and what the merge needs of it (:class:`~tc_calendar.sync.merge.Shown`)."""

    id: int
    shown: Shown


def copy_values(copy: HeldCopy) -> dict[str, Any]:
    """The columns of a ``visibility`` row (one mailbox's copy), without its key."""
    return {
        "item_id": copy.item_id,
        "my_response": copy.my_response.value,
        "content_hash": copy.content_hash,
        "from_organizer_copy": copy.from_organizer_copy,
        "copy_content": None if copy.kept is None else occurrence_to_json(copy.kept.occurrence()),
    }


def _shown(row: Any) -> Shown:
    return Shown(row.content_hash, row.source_mailbox, row.source_is_organizer, row.start_at, row.end_at)


def _held_copy(row: Any) -> HeldCopy:
    """A copy as stored; its kept version (JSON) is decoded only if the merge shows it."""
    data = row.copy_content
    kept = None if data is None else Kept(decode=functools.partial(occurrence_from_json, data))
    return HeldCopy(row.item_id, Response(row.my_response), row.copy_hash, row.from_organizer_copy, kept)


@dataclass
class WorkingSet:
    connection: AsyncConnection
    contents: dict[OccurrenceKey, Content | None] = field(default_factory=dict)
    copies: dict[int, dict[str, HeldCopy]] = field(default_factory=dict)
    _next_provisional_id: int = 0
    _new_contents: dict[int, tuple[Content, dict[str, Any]]] = field(default_factory=dict)
    _new_attendees: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _new_copies: dict[CopyKey, HeldCopy] = field(default_factory=dict)
    _changed_copies: dict[CopyKey, HeldCopy] = field(default_factory=dict)
    _changed_contents: dict[int, dict[str, Any]] = field(default_factory=dict)
    _stale_attendees: set[int] = field(default_factory=set)
    _deleted_contents: set[int] = field(default_factory=set)
    _dropped_copies: set[CopyKey] = field(default_factory=set)

    # --- reading ------------------------------------------------------------------------------------------------

    async def prefetch(self, keys: Iterable[OccurrenceKey]) -> None:
        """Read the stored content and copies of those ``keys`` not read yet (one query per chunk of UIDs)."""
        wanted = {key for key in keys if key not in self.contents}
        if not wanted:
            return
        await self.flush()
        for chunk in in_chunks(sorted({key.uid for key in wanted})):
            for row in await self.connection.execute(_PREFETCH, {"uids": list(chunk)}):
                key = key_of(row.uid, row.recurrence_id)
                if key not in wanted:
                    continue  # another occurrence of a wanted series
                if key not in self.contents:
                    self.contents[key] = Content(row.id, _shown(row))
                    self.copies[row.id] = {}
                if row.user_email is not None:
                    self.copies[row.id][row.user_email] = _held_copy(row)
        for key in wanted:
            self.contents.setdefault(key, None)

    async def content(self, key: OccurrenceKey) -> Content | None:
        await self.prefetch([key])
        return self.contents[key]

    async def keys_of_item(self, mailbox: str, item_id: str) -> list[OccurrenceKey]:
        """The occurrences ``mailbox`` sees through one Exchange item, by start."""
        await self.flush()
        query = (
            select(occurrences.c.uid, occurrences.c.recurrence_id)
            .join(visibility, visibility.c.occurrence_id == occurrences.c.id)
            .where(visibility.c.user_email == mailbox, visibility.c.item_id == item_id)
            .order_by(occurrences.c.start_at, occurrences.c.id)
        )
        keys = [key_of(row.uid, row.recurrence_id) for row in await self.connection.execute(query)]
        await self.prefetch(keys)
        return keys

    # --- writing content ------------------------------------------------------------------------------------------

    def insert_content(
        self, key: OccurrenceKey, row: Mapping[str, Any], people: list[dict[str, Any]], content: Content
    ) -> Content:
        """Add an occurrence (buffered) with its attendee rows; ``content.id`` is provisional until the flush."""
        self._next_provisional_id -= 1
        content.id = self._next_provisional_id
        self._new_contents[content.id] = (content, dict(row))
        self._new_attendees[content.id] = people
        self.contents[key] = content
        self.copies[content.id] = {}
        return content

    def update_content(self, content: Content, row: Mapping[str, Any], people: list[dict[str, Any]] | None) -> None:
        """Update an occurrence's columns (buffered); with ``people``, replace its attendees too."""
        stored = content.id not in self._new_contents
        if stored:
            self._changed_contents.setdefault(content.id, {}).update(row)
        else:
            self._new_contents[content.id][1].update(row)
        if people is not None:
            if stored:
                self._stale_attendees.add(content.id)
            self._new_attendees[content.id] = people

    def delete_content(self, key: OccurrenceKey, content: Content) -> None:
        """Delete an occurrence nobody sees any more (buffered; its copies must be gone already)."""
        self._new_attendees.pop(content.id, None)
        self._changed_contents.pop(content.id, None)
        self._stale_attendees.discard(content.id)
        if self._new_contents.pop(content.id, None) is None:
            self._deleted_contents.add(content.id)
        self.contents[key] = None
        del self.copies[content.id]

    # --- writing copies -------------------------------------------------------------------------------------------

    def put_copy(self, mailbox: str, occurrence_id: int, copy: HeldCopy) -> HeldCopy | None:
        """Record ``mailbox``'s copy (buffered); returns the copy it replaces, if any."""
        previous = self.copies[occurrence_id].get(mailbox)
        if previous == copy:
            return previous
        key = (mailbox, occurrence_id)
        if previous is None or key in self._new_copies:
            self._new_copies[key] = copy
        else:
            self._changed_copies[key] = copy
        self.copies[occurrence_id][mailbox] = copy
        return previous

    def drop_copy(self, mailbox: str, occurrence_id: int) -> bool:
        """Remove ``mailbox``'s copy (buffered); False when it had none."""
        if self.copies[occurrence_id].pop(mailbox, None) is None:
            return False
        key = (mailbox, occurrence_id)
        self._changed_copies.pop(key, None)
        if self._new_copies.pop(key, None) is None:
            self._dropped_copies.add(key)
        return True

    async def flush(self) -> None:
        """Write the buffered rows: deletions first (a key deleted and put again in one batch is a new row), then
        new occurrences (they get their real ids), updates of stored ones, attendees and copies."""
        await self._delete()
        await self._insert_new_contents()
        await self._update_changed_contents()
        people = [
            {**person, "occurrence_id": occurrence_id}
            for occurrence_id, rows in self._new_attendees.items()
            for person in rows
        ]
        if people:
            await self.connection.execute(insert(attendees), people)
        if self._new_copies:
            rows = [
                {"user_email": mailbox, "occurrence_id": occurrence_id, **copy_values(copy)}
                for (mailbox, occurrence_id), copy in self._new_copies.items()
            ]
            await self.connection.execute(insert(visibility), rows)
        if self._changed_copies:
            rows = [
                {"key_user": mailbox, "key_occurrence": occurrence_id, **_prefixed(copy_values(copy))}
                for (mailbox, occurrence_id), copy in self._changed_copies.items()
            ]
            await self.connection.execute(_UPDATE_COPY, rows)
        self._new_attendees.clear()
        self._new_copies.clear()
        self._changed_copies.clear()

    async def _delete(self) -> None:
        """Dropped copies, then the stale attendees and the rows of deleted occurrences: an executemany each."""
        if self._dropped_copies:
            copies = [{"key_user": user, "key_occurrence": id_} for user, id_ in sorted(self._dropped_copies)]
            await self.connection.execute(_DELETE_COPY, copies)
        stale = [{"key_id": id_} for id_ in sorted(self._stale_attendees | self._deleted_contents)]
        if stale:
            await self.connection.execute(_DELETE_ATTENDEES, stale)
        if self._deleted_contents:
            await self.connection.execute(_DELETE_CONTENT, [{"key_id": id_} for id_ in sorted(self._deleted_contents)])
        self._dropped_copies.clear()
        self._stale_attendees.clear()
        self._deleted_contents.clear()

    async def _update_changed_contents(self) -> None:
        """One executemany per set of columns changed (usually a batch changes only a copy's source, or all)."""
        shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
        for occurrence_id, values in self._changed_contents.items():
            shapes.setdefault(frozenset(values), []).append({"key_id": occurrence_id, **_prefixed(values)})
        for columns, rows in shapes.items():
            await self.connection.execute(_content_update(columns), rows)
        self._changed_contents.clear()

    async def _insert_new_contents(self) -> None:
        if not self._new_contents:
            return
        # Rows are matched to their new ids by key, not by position: asking the database to return them in order
        # (sort_by_parameter_order) makes SQLAlchemy insert one row per statement on SQLite.
        provisional = {
            (row["uid"], row["recurrence_id"]): temporary for temporary, (_, row) in self._new_contents.items()
        }
        statement = insert(occurrences).returning(occurrences.c.id, occurrences.c.uid, occurrences.c.recurrence_id)
        inserted = await self.connection.execute(statement, [row for _, row in self._new_contents.values()])
        renamed = {provisional[(row.uid, row.recurrence_id)]: row.id for row in inserted}
        for temporary, real in renamed.items():
            self._new_contents[temporary][0].id = real
            self.copies[real] = self.copies.pop(temporary)
            if temporary in self._new_attendees:
                self._new_attendees[real] = self._new_attendees.pop(temporary)
        self._new_copies = {(user, renamed.get(oid, oid)): copy for (user, oid), copy in self._new_copies.items()}
        self._new_contents.clear()


#: An occurrence's content with each of its copies (or one row of NULL copy columns when it has none).
_PREFETCH = (
    select(
        occurrences.c.id,
        occurrences.c.uid,
        occurrences.c.recurrence_id,
        occurrences.c.content_hash,
        occurrences.c.source_mailbox,
        occurrences.c.source_is_organizer,
        occurrences.c.start_at,
        occurrences.c.end_at,
        visibility.c.user_email,
        visibility.c.item_id,
        visibility.c.my_response,
        visibility.c.content_hash.label("copy_hash"),
        visibility.c.from_organizer_copy,
        visibility.c.copy_content,
    )
    .select_from(occurrences.outerjoin(visibility, visibility.c.occurrence_id == occurrences.c.id))
    .where(one_of(occurrences.c.uid, "uids"))
)

_UPDATE_COPY = (
    update(visibility)
    .where(
        visibility.c.user_email == bindparam("key_user"),
        visibility.c.occurrence_id == bindparam("key_occurrence"),
    )
    .values(
        item_id=bindparam("new_item_id"),
        my_response=bindparam("new_my_response"),
        content_hash=bindparam("new_content_hash"),
        from_organizer_copy=bindparam("new_from_organizer_copy"),
        copy_content=bindparam("new_copy_content"),
    )
)


_DELETE_COPY = delete(visibility).where(
    visibility.c.user_email == bindparam("key_user"), visibility.c.occurrence_id == bindparam("key_occurrence")
)
_DELETE_ATTENDEES = delete(attendees).where(attendees.c.occurrence_id == bindparam("key_id"))
_DELETE_CONTENT = delete(occurrences).where(occurrences.c.id == bindparam("key_id"))


@functools.cache
def _content_update(columns: frozenset[str]) -> Update:
    """The UPDATE of one occurrence's ``columns``, built once per set of columns."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in sorted(columns)}
    return update(occurrences).where(occurrences.c.id == bindparam("key_id")).values(values)


def _prefixed(values: Mapping[str, Any]) -> dict[str, Any]:
    # SQLAlchemy reserves a column's own name for its SET value, so the parameters are named new_<column>.
    return {f"new_{name}": value for name, value in values.items()}
