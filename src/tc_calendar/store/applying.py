"""Applying a batch of sync actions in one transaction: load what the merge needs, write what it decides.

The merge policy (which copy of a meeting is shown, which copy is kept, who gets a change-log entry) is
:mod:`tc_calendar.sync.merge`; this module loads the :class:`~tc_calendar.sync.merge.Meeting` each action names,
and writes the rows and entries the merge returns. The batch and the change-log entries it causes commit
together or not at all.

Writers of occurrences queue behind one another (:func:`~tc_calendar.store.changelog.serialize_writers`, a no-op
on SQLite, which has a single writer anyway). That makes each batch's read-then-write decisions safe, and lets
the batch work on a :class:`~tc_calendar.store._working_set.WorkingSet` read up front instead of asking the
database before every action.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tc_calendar.model import Change, OccurrenceKey
from tc_calendar.store._rows import attendee_values, key_values, occurrence_values
from tc_calendar.store._sql import one_of
from tc_calendar.store._working_set import Content, WorkingSet
from tc_calendar.store.changelog import NewChange, append, serialize_writers
from tc_calendar.store.errors import MailboxNotFoundError
from tc_calendar.store.records import MailboxState
from tc_calendar.store.tables import mailboxes
from tc_calendar.sync import merge
from tc_calendar.sync.actions import (
    Action,
    DropItem,
    DropOccurrence,
    PutOccurrence,
    RecordSyncSuccess,
    SaveCheckpoint,
)
from tc_calendar.sync.merge import NOTHING, ChangeLog, Meeting, Merged, Shown


@dataclass
class _Batch:
    """One batch in progress: its rows, the entries it will log, and how each mailbox's event count moves."""

    rows: WorkingSet
    now: datetime
    log: ChangeLog = field(default_factory=ChangeLog)
    seen_delta: Counter[str] = field(default_factory=Counter)
    #: Columns of ``mailboxes`` to set per mailbox (checkpoint, sync success), written once at the end.
    mailbox_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set_mailbox(self, mailbox: str, **values: Any) -> None:
        self.mailbox_values.setdefault(mailbox.lower(), {}).update(values)


async def apply_actions(connection: AsyncConnection, actions: Sequence[Action], now: datetime) -> list[Change]:
    """Apply ``actions`` in order inside the caller's transaction; return the change-log entries appended."""
    return (await apply_batches(connection, [actions], now))[0]


async def apply_batches(
    connection: AsyncConnection, batches: Sequence[Sequence[Action]], now: datetime
) -> list[list[Change]]:
    """Apply several batches one after another inside the caller's transaction (a group commit): the same rows
    and entries as one transaction each, in a few statements for all of them. Returns each batch's entries."""
    await serialize_writers(connection, by_key=True)
    batch = _Batch(WorkingSet(connection), now)
    await batch.rows.prefetch(_named_keys([action for actions in batches for action in actions]))
    logs: list[ChangeLog] = []
    for actions in batches:
        batch.log = ChangeLog()
        logs.append(batch.log)
        await _apply(batch, actions)
    await batch.rows.flush()
    await _update_mailboxes(connection, batch)
    entries = [[NewChange(e.kind, e.user, e.key, e.payload) for e in log.entries()] for log in logs]
    appended = await append(connection, [entry for each in entries for entry in each], now)
    split: list[list[Change]] = []
    for each in entries:
        split.append(appended[: len(each)])
        appended = appended[len(each) :]
    return split


async def _apply(batch: _Batch, actions: Sequence[Action]) -> None:
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
                batch.set_mailbox(action.mailbox, state=MailboxState.OK.value, last_success_at=batch.now)


def _named_keys(actions: Sequence[Action]) -> set[OccurrenceKey]:
    keys: set[OccurrenceKey] = set()
    for action in actions:
        if isinstance(action, PutOccurrence):
            keys.add(action.occurrence.key)
        elif isinstance(action, DropOccurrence):
            keys.add(action.key)
    return keys


async def _put(batch: _Batch, action: PutOccurrence) -> None:
    key = action.occurrence.key
    content = await batch.rows.content(key)
    _write(batch, key, content, merge.put(_meeting(batch, content), action))


async def _drop_key(batch: _Batch, mailbox: str, key: OccurrenceKey) -> None:
    content = await batch.rows.content(key)
    if content is not None:
        _write(batch, key, content, merge.drop(_meeting(batch, content), mailbox))


def _meeting(batch: _Batch, content: Content | None) -> Meeting:
    """What the merge needs of a stored occurrence (the working set's own copies, which the merge never changes)."""
    return NOTHING if content is None else Meeting(content.shown, batch.rows.copies[content.id])


def _write(batch: _Batch, key: OccurrenceKey, content: Content | None, merged: Merged) -> None:
    """Write what the merge decided for one occurrence: its content row, its copies, and the entries to log."""
    after = merged.meeting
    held = {} if content is None else batch.rows.copies[content.id]
    for mailbox in merged.copies_changed:
        batch.seen_delta[mailbox] += (mailbox in after.copies) - (mailbox in held)
    if content is not None:
        for mailbox in merged.copies_changed:
            if mailbox not in after.copies:
                batch.rows.drop_copy(mailbox, content.id)
    if after.shown is None:
        if content is not None:
            batch.rows.delete_content(key, content)
    elif content is None:
        assert merged.written is not None, "a meeting shown for the first time has content to write"
        row = {**key_values(merged.written), **occurrence_values(merged.written), **_source(after.shown, batch.now)}
        content = batch.rows.insert_content(
            key, row, attendee_values(merged.written.attendees), Content(0, after.shown)
        )
    elif merged.written is not None:
        row = {**occurrence_values(merged.written), **_source(after.shown, batch.now)}
        batch.rows.update_content(content, row, attendee_values(merged.written.attendees))
        content.shown = after.shown
    elif after.shown != content.shown:
        batch.rows.update_content(content, _source(after.shown, batch.now), None)
        content.shown = after.shown
    if content is not None and after.shown is not None:
        for mailbox in merged.copies_changed:
            if mailbox in after.copies:
                batch.rows.put_copy(mailbox, content.id, after.copies[mailbox])
    batch.log.add(key, merged)


def _source(shown: Shown, now: datetime) -> dict[str, Any]:
    """The columns that say which copy the stored content is."""
    return {
        "content_hash": shown.content_hash,
        "source_mailbox": shown.source_mailbox,
        "source_is_organizer": shown.source_is_organizer,
        "updated_at": now,
    }


async def _drop_item(batch: _Batch, mailbox: str, item_id: str) -> None:
    for key in await batch.rows.keys_of_item(mailbox, item_id):
        await _drop_key(batch, mailbox, key)


async def _update_mailboxes(connection: AsyncConnection, batch: _Batch) -> None:
    """The ``mailboxes`` rows the batch touched: checkpoint, sync success, and ``event_count`` moved by the copies
    the batch added and removed; one executemany per shape of update.

    A checkpoint or a success for a mailbox that is not registered is an error (:class:`MailboxNotFoundError`,
    the whole batch rolls back); copies may be put for a user who is not (yet) a mailbox.
    """
    shapes: dict[tuple[frozenset[str], bool], list[dict[str, Any]]] = {}
    for email in sorted({*batch.mailbox_values, *batch.seen_delta}):
        values: dict[str, Any] = dict(batch.mailbox_values.get(email, {}))
        delta = batch.seen_delta[email]
        if values or delta:
            row = {**_prefixed(values), "key_email": email, "event_delta": delta}
            shapes.setdefault((frozenset(values), bool(delta)), []).append(row)
    if sum(len(rows) for rows in shapes.values()) > 1:
        await _require_registered(connection, set(batch.mailbox_values))
    for (columns, counting), rows in shapes.items():
        result = await connection.execute(_mailbox_update(columns, counting=counting), rows)
        if len(rows) == 1 and result.rowcount == 0 and rows[0]["key_email"] in batch.mailbox_values:
            raise MailboxNotFoundError(rows[0]["key_email"])


async def _require_registered(connection: AsyncConnection, emails: set[str]) -> None:
    """Raise :class:`MailboxNotFoundError` for the first of ``emails`` that is not a registered mailbox (an
    executemany does not tell which of its rows matched nothing)."""
    if not emails:
        return
    found = set((await connection.execute(_REGISTERED, {"emails": sorted(emails)})).scalars())
    missing = sorted(emails - found)
    if missing:
        raise MailboxNotFoundError(missing[0])


_REGISTERED = select(mailboxes.c.email).where(one_of(mailboxes.c.email, "emails"))


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
