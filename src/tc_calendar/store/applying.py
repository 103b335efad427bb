"""Applying a batch of sync actions (see :mod:`tc_calendar.sync.actions` for the rules) in one transaction.

The batch and the change-log entries it causes commit together or not at all. Entries are collected per
(user, occurrence) while the batch runs, so an occurrence touched twice in one batch gives each user one entry
describing the final state, and an action that changes nothing a user sees gives no entry at all.

Writers of occurrences queue behind one another (:func:`~tc_calendar.store.changelog.serialize_writers`, a no-op
on SQLite, which has a single writer anyway). That makes each batch's read-then-write decisions safe, and lets
the batch work on a :class:`~tc_calendar.store._working_set.WorkingSet` read up front instead of asking the
database before every action.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Change, ChangeKind, OccurrenceKey, Response
from tc_calendar.store._copies import occurrence_from_json, occurrence_to_json
from tc_calendar.store._rows import attendee_values, key_values, occurrence_values
from tc_calendar.store._working_set import Content, Copy, WorkingSet
from tc_calendar.store.changelog import NewChange, append, serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.records import MailboxState
from tc_calendar.store.tables import mailboxes
from tc_calendar.sync.actions import (
    Action,
    DropItem,
    DropOccurrence,
    PutOccurrence,
    RecordSyncSuccess,
    SaveCheckpoint,
)


@dataclass
class _Batch:
    """One batch in progress: its rows, the entries it will log, and how each mailbox's event count moves."""

    rows: WorkingSet
    now: datetime
    pending: dict[tuple[str, OccurrenceKey], NewChange] = field(default_factory=dict)
    seen_before: dict[tuple[str, OccurrenceKey], bool] = field(default_factory=dict)
    seen_delta: Counter[str] = field(default_factory=Counter)
    #: Columns of ``mailboxes`` to set per mailbox (checkpoint, sync success), written once at the end.
    mailbox_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def note(
        self, kind: ChangeKind, user: str, key: OccurrenceKey, payload: dict[str, object], seen_before: bool = True
    ) -> None:
        """Record that ``user``'s view of ``key`` changed; a later note for the same pair replaces this one.

        ``seen_before`` tells, on the first note of a pair, whether the user saw the occurrence before the batch.
        """
        self.seen_before.setdefault((user, key), seen_before)
        self.pending.pop((user, key), None)
        self.pending[(user, key)] = NewChange(kind, user, key, payload)

    def set_mailbox(self, mailbox: str, **values: Any) -> None:
        self.mailbox_values.setdefault(mailbox.lower(), {}).update(values)

    def entries(self) -> list[NewChange]:
        """The entries to log: a deletion of something the user never saw (put and dropped in this batch) is none."""
        return [
            change
            for pair, change in self.pending.items()
            if change.kind is not ChangeKind.DELETE or self.seen_before[pair]
        ]


async def apply_actions(connection: AsyncConnection, actions: Sequence[Action], now: datetime) -> list[Change]:
    """Apply ``actions`` in order inside the caller's transaction; return the change-log entries appended."""
    await serialize_writers(connection)
    batch = _Batch(WorkingSet(connection), now)
    await batch.rows.prefetch(_named_keys(actions))
    for action in actions:
        match action:
            case PutOccurrence():
                await _put(batch, action)
            case DropOccurrence():
                await _drop_key(batch, action.mailbox.lower(), action.key)
            case DropItem():
                await _drop_item(batch, action.mailbox.lower(), action.item_id)
            case SaveCheckpoint():
                batch.set_mailbox(
                    action.mailbox,
                    sync_state=action.sync_state,
                    window_start=action.window_start,
                    window_end=action.window_end,
                )
            case RecordSyncSuccess():
                batch.set_mailbox(action.mailbox, state=MailboxState.OK.value, last_success_at=now)
    await batch.rows.flush()
    await _update_mailboxes(connection, batch)
    return await append(connection, batch.entries(), now)


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
    key = action.occurrence.key
    content = await batch.rows.content(key)
    if content is None:
        content = _insert_content(batch, action)
        content_changed = True
    else:
        content_changed = await _maybe_replace_content(batch, content, action)
    # A copy that lost to the shared content is kept whole, to take over if the winning copy goes.
    kept = occurrence_to_json(action.occurrence) if content.content_hash != action.content_hash else None
    copy = Copy(action.item_id, action.my_response.value, action.content_hash, action.from_organizer_copy, kept)
    previous = batch.rows.put_copy(mailbox, content.id, copy)
    if previous is None:
        batch.seen_delta[mailbox] += 1
    if content_changed:
        for user, viewer_copy in sorted(batch.rows.copies[content.id].items()):
            payload = _payload(Response(viewer_copy.my_response), content)
            batch.note(ChangeKind.UPSERT, user, key, payload, seen_before=user != mailbox or previous is not None)
    elif previous is None or previous.my_response != copy.my_response:
        payload = _payload(action.my_response, content)
        batch.note(ChangeKind.UPSERT, mailbox, key, payload, seen_before=previous is not None)


def _insert_content(batch: _Batch, action: PutOccurrence) -> Content:
    occurrence = action.occurrence
    row = {**key_values(occurrence), **occurrence_values(occurrence), **_source(action, batch.now)}
    content = Content(
        0, action.content_hash, action.mailbox.lower(), action.from_organizer_copy, occurrence.start, occurrence.end
    )
    return batch.rows.insert_content(occurrence.key, row, attendee_values(occurrence.attendees), content)


async def _maybe_replace_content(batch: _Batch, content: Content, action: PutOccurrence) -> bool:
    """Take this copy's content when it may win (organizer copy, or no organizer copy stored) and differs."""
    if content.source_is_organizer and not action.from_organizer_copy:
        return False
    source = (action.mailbox.lower(), action.from_organizer_copy)
    if content.content_hash == action.content_hash:
        if (content.source_mailbox, content.source_is_organizer) != source:
            batch.rows.update_content(content, _source(action, batch.now), None)
            content.source_mailbox, content.source_is_organizer = source
        return False
    occurrence = action.occurrence
    row = {**occurrence_values(occurrence), **_source(action, batch.now)}
    batch.rows.update_content(content, row, attendee_values(occurrence.attendees))
    content.content_hash = action.content_hash
    content.source_mailbox, content.source_is_organizer = source
    content.start, content.end = occurrence.start, occurrence.end
    return True


def _source(action: PutOccurrence, now: datetime) -> dict[str, Any]:
    return {
        "content_hash": action.content_hash,
        "source_mailbox": action.mailbox.lower(),
        "source_is_organizer": action.from_organizer_copy,
        "updated_at": now,
    }


def _payload(response: Response, content: Content) -> dict[str, object]:
    """What an upsert entry tells a client without a read: the user's answer and where the occurrence lies."""
    return {"my_response": response.value, "start": content.start.isoformat(), "end": content.end.isoformat()}


async def _drop_key(batch: _Batch, mailbox: str, key: OccurrenceKey) -> None:
    """Hide the occurrence from ``mailbox``; delete its content when nobody sees it any more."""
    content = await batch.rows.content(key)
    if content is None or not batch.rows.drop_copy(mailbox, content.id):
        return
    batch.seen_delta[mailbox] -= 1
    batch.note(ChangeKind.DELETE, mailbox, key, {})
    if not batch.rows.copies[content.id]:
        batch.rows.delete_content(key, content)
    elif content.source_mailbox == mailbox and content.source_is_organizer:
        # The stored content came from this mailbox's organizer copy, which is gone: a remaining (attendee) copy
        # that differs takes over now, and any copy may replace it from now on.
        batch.rows.update_content(content, {"source_is_organizer": False}, None)
        content.source_is_organizer = False
        await _promote_kept_copy(batch, key, content)


async def _promote_kept_copy(batch: _Batch, key: OccurrenceKey, content: Content) -> None:
    """Make the first remaining copy that differs from the shared content (and was kept) the shared content."""
    for user, copy in sorted(batch.rows.copies[content.id].items()):
        if copy.content is None or copy.content_hash == content.content_hash:
            continue
        occurrence = occurrence_from_json(copy.content)
        source = {
            "content_hash": copy.content_hash,
            "source_mailbox": user,
            "source_is_organizer": copy.from_organizer_copy,
            "updated_at": batch.now,
        }
        batch.rows.update_content(
            content, {**occurrence_values(occurrence), **source}, attendee_values(occurrence.attendees)
        )
        content.content_hash, content.source_mailbox = copy.content_hash, user
        content.source_is_organizer = copy.from_organizer_copy
        content.start, content.end = occurrence.start, occurrence.end
        batch.rows.put_copy(user, content.id, replace(copy, content=None))
        for viewer, viewer_copy in sorted(batch.rows.copies[content.id].items()):
            batch.note(ChangeKind.UPSERT, viewer, key, _payload(Response(viewer_copy.my_response), content))
        return


async def _drop_item(batch: _Batch, mailbox: str, item_id: str) -> None:
    for key in await batch.rows.keys_of_item(mailbox, item_id):
        await _drop_key(batch, mailbox, key)


async def _update_mailboxes(connection: AsyncConnection, batch: _Batch) -> None:
    """One UPDATE per mailbox the batch touched: checkpoint, sync success, and ``event_count`` moved by the copies
    the batch added and removed.

    A checkpoint or a success for a mailbox that is not registered is an error (:class:`MailboxNotFoundError`,
    the whole batch rolls back); copies may be put for a user who is not (yet) a mailbox.
    """
    for email in sorted({*batch.mailbox_values, *batch.seen_delta}):
        values: dict[str, Any] = dict(batch.mailbox_values.get(email, {}))
        delta = batch.seen_delta[email]
        if not values and not delta:
            continue
        statement = _mailbox_update(frozenset(values), counting=bool(delta))
        result = await connection.execute(statement, {**_prefixed(values), "key_email": email, "event_delta": delta})
        if result.rowcount == 0 and email in batch.mailbox_values:
            raise MailboxNotFoundError(email)


@functools.cache
def _mailbox_update(columns: frozenset[str], *, counting: bool) -> Update:
    """The UPDATE of ``mailboxes`` setting ``columns`` (and moving ``event_count``), built once per shape: building
    a statement costs more than running it."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in sorted(columns)}
    if counting:
        values["event_count"] = mailboxes.c.event_count + bindparam("event_delta")
    return update(mailboxes).where(mailboxes.c.email == bindparam("key_email")).values(values)


def _prefixed(values: dict[str, Any]) -> dict[str, Any]:
    # SQLAlchemy reserves a column's own name for its SET value, so the parameters are named new_<column>.
    return {f"new_{name}": value for name, value in values.items()}
