"""The actions the sync core asks the store to apply, in one transaction per batch.

This is the contract between ``sync`` (which decides) and ``store`` (which writes and appends change-log
entries). A mailbox's user is the lower-case SMTP address of that mailbox.

Rules the store follows when applying them:

* ``PutOccurrence`` makes the occurrence visible to ``mailbox`` with ``my_response``; ``DropOccurrence`` removes it
  from ``mailbox``'s view (deleted in Exchange, moved out of the window, the user is no longer invited). Which copy
  of a meeting users see (the organizer's copy wins), which losing copies are kept, when the occurrence goes, and
  who gets a change-log entry (only a user whose view changed: visibility, content hash or ``my_response``, so
  re-applying the same action is a no-op) is the merge policy in :mod:`tc_calendar.sync.merge`, which the store
  follows.
* ``DropItem`` does the same for every occurrence that came from one Exchange item of that mailbox
  (``SyncFolderItems`` reports deletions by item id only).
* ``SaveCheckpoint`` stores the mailbox's sync state in the same transaction as the changes it covers, so a crash
  never loses or repeats a change.
* ``RecordSyncSuccess`` sets the mailbox's state to ``ok`` and its last success to the time of the commit (the last
  error is kept for admins). The sync engine, not the sync core, adds it to the page that completes a cycle, so a
  successful cycle is one write transaction; a crash before the commit loses the status with the page it
  describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tc_calendar.model import Occurrence, OccurrenceKey, Response


@dataclass(frozen=True, slots=True)
class PutOccurrence:
    mailbox: str
    item_id: str
    occurrence: Occurrence
    my_response: Response
    from_organizer_copy: bool
    content_hash: str


@dataclass(frozen=True, slots=True)
class DropOccurrence:
    mailbox: str
    key: OccurrenceKey


@dataclass(frozen=True, slots=True)
class DropItem:
    mailbox: str
    item_id: str


@dataclass(frozen=True, slots=True)
class SaveCheckpoint:
    mailbox: str
    sync_state: str | None
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True, slots=True)
class RecordSyncSuccess:
    mailbox: str


Action = PutOccurrence | DropOccurrence | DropItem | SaveCheckpoint | RecordSyncSuccess
