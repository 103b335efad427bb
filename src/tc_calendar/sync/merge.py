"""How the copies of one meeting become what its users see, and who is told: the merge policy, without I/O.

Every mailbox invited to a meeting holds its own copy of it in Exchange (the organizer's copy, and one per
attendee), and the copies disagree: an attendee's copy lags behind the organizer's edits and lacks the other
attendees' answers. Users see one shared occurrence per meeting (:class:`Shown`), taken from one of the copies
held for it (:class:`Meeting`), each user with their own answer. The rules (also listed in
:mod:`tc_calendar.sync.actions`):

* **The organizer's copy wins.** A copy from the organizer's mailbox replaces the shown content whenever it
  differs; an attendee's copy replaces it only while no organizer copy is shown (the organizer's mailbox may not
  be synced at all).
* **A losing copy is kept.** A copy whose content differs from the shown content when it arrives keeps its own
  version (:attr:`HeldCopy.kept`). When the organizer's copy goes (the organizer cancelled or deleted the
  meeting, and Exchange updated the attendees' copies first), the first kept version by mailbox that differs
  takes its place at once, instead of waiting for a change of the attendee's copy that never comes.
* **An entry for every view that changed, and only then.** A user is told (:class:`Note`) when the occurrence
  appears in or leaves their calendar, when its shown content hash changes, or when their own answer changes.
  A copy that changes nothing a user sees (the same content again, or the same content from another mailbox)
  tells no one, so re-applying a change is a no-op.
* **The last copy takes the occurrence with it.** When no mailbox holds a copy any more, nothing is shown.

:func:`put` and :func:`drop` decide one change of one meeting; :class:`ChangeLog` folds the notes of a batch
into one entry per user and occurrence. The store loads the :class:`Meeting` a change names, calls these, and
writes what they return (rows and change-log entries) in one transaction; :func:`merge` does the same for a
whole batch in memory and is the reference the store is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tc_calendar.model import ChangeKind, Occurrence, OccurrenceKey, Response
from tc_calendar.sync.actions import DropItem, DropOccurrence, PutOccurrence


@dataclass(frozen=True, slots=True)
class Shown:
    """What users see of a meeting: the content of one copy, and which copy that is."""

    content_hash: str
    source_mailbox: str
    source_is_organizer: bool
    start: datetime
    end: datetime


class Kept:
    """A copy's own version of a meeting, kept while it differs from the shown content.

    It is read only when it is shown (the organizer's copy went), so a store may keep it encoded and pass a
    ``decode`` that reads it then. Two kept versions of copies with the same content hash are the same version.
    """

    __slots__ = ("_decode", "_occurrence")

    def __init__(self, occurrence: Occurrence | None = None, decode: Callable[[], Occurrence] | None = None) -> None:
        if (occurrence is None) == (decode is None):
            raise ValueError("a kept version is an occurrence or a way to decode one")
        self._occurrence = occurrence
        self._decode = decode

    def occurrence(self) -> Occurrence:
        if self._occurrence is None:
            assert self._decode is not None
            self._occurrence = self._decode()
        return self._occurrence


@dataclass(frozen=True, slots=True)
class HeldCopy:
    """One mailbox's copy of a meeting."""

    item_id: str
    my_response: Response
    content_hash: str
    from_organizer_copy: bool
    #: This mailbox's own version while it differs from the shown content (see the module's rules).
    kept: Kept | None = field(default=None, compare=False)
    #: Whether a version is kept (compared instead of the version itself: that is fixed by ``content_hash``).
    keeps: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keeps", self.kept is not None)


@dataclass(frozen=True, slots=True)
class Meeting:
    """The copies held for one occurrence and what is shown of it; ``shown`` is None when no copy is held."""

    shown: Shown | None = None
    copies: Mapping[str, HeldCopy] = field(default_factory=dict)

    def view(self, user: str) -> tuple[str, Response] | None:
        """What ``user`` sees: the shown content hash and their answer, or None when it is not in their calendar."""
        copy = self.copies.get(user)
        if copy is None or self.shown is None:
            return None
        return self.shown.content_hash, copy.my_response


NOTHING = Meeting()


@dataclass(frozen=True, slots=True)
class Note:
    """That ``user``'s view of the meeting changed: it is now shown with ``my_response`` (an upsert), or gone.

    ``seen_before`` tells whether the user saw the occurrence before this change, so that a batch can leave out
    the removal of something a user never saw.
    """

    kind: ChangeKind
    user: str
    my_response: Response | None = None
    seen_before: bool = True


@dataclass(frozen=True, slots=True)
class Merged:
    """The outcome of one change of one meeting.

    ``written`` is the occurrence whose content is now shown when that content changed (the incoming copy, or a
    kept version promoted): the store writes it in full. A change of ``meeting.shown`` without ``written`` is a
    change of its source only. ``copies_changed`` names the mailboxes whose copy was added, replaced or removed.
    """

    meeting: Meeting
    written: Occurrence | None = None
    copies_changed: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()


def put(meeting: Meeting, change: PutOccurrence) -> Merged:
    """A mailbox reports its copy of the meeting (new or changed)."""
    mailbox = change.mailbox.lower()
    incoming = change.occurrence
    own = Shown(change.content_hash, mailbox, change.from_organizer_copy, incoming.start, incoming.end)
    shown = meeting.shown
    written: Occurrence | None = None
    if shown is None or (_replaces(shown, change.from_organizer_copy) and shown.content_hash != change.content_hash):
        shown, written = own, incoming
    elif _replaces(shown, change.from_organizer_copy) and (shown.source_mailbox, shown.source_is_organizer) != (
        mailbox,
        change.from_organizer_copy,
    ):
        # The same content, now from this copy: nobody's view changes, but this copy is the source from now on.
        shown = replace(shown, source_mailbox=mailbox, source_is_organizer=change.from_organizer_copy)
    kept = Kept(incoming) if shown.content_hash != change.content_hash else None
    copy = HeldCopy(change.item_id, change.my_response, change.content_hash, change.from_organizer_copy, kept)
    previous = meeting.copies.get(mailbox)
    copies = {**meeting.copies, mailbox: copy}
    notes: tuple[Note, ...] = ()
    if written is not None:
        notes = tuple(
            Note(ChangeKind.UPSERT, user, held.my_response, seen_before=user != mailbox or previous is not None)
            for user, held in sorted(copies.items())
        )
    elif previous is None or previous.my_response != copy.my_response:
        notes = (Note(ChangeKind.UPSERT, mailbox, copy.my_response, seen_before=previous is not None),)
    changed = (mailbox,) if previous != copy else ()
    return Merged(Meeting(shown, copies), written, changed, notes)


def _replaces(shown: Shown, from_organizer_copy: bool) -> bool:
    """Whether a copy may take the shown content's place: the organizer's copy always, another while no organizer
    copy is shown."""
    return from_organizer_copy or not shown.source_is_organizer


def drop(meeting: Meeting, mailbox: str) -> Merged:
    """``mailbox`` no longer holds the meeting (deleted, moved out of the window, no longer invited)."""
    mailbox = mailbox.lower()
    shown = meeting.shown
    if shown is None or mailbox not in meeting.copies:
        return Merged(meeting)
    copies = {user: copy for user, copy in meeting.copies.items() if user != mailbox}
    gone = Note(ChangeKind.DELETE, mailbox)
    if not copies:
        return Merged(NOTHING, None, (mailbox,), (gone,))
    if shown.source_mailbox != mailbox or not shown.source_is_organizer:
        return Merged(Meeting(shown, copies), None, (mailbox,), (gone,))
    # The organizer's copy is gone: any copy may replace the shown content from now on, and a kept one does now.
    shown = replace(shown, source_is_organizer=False)
    for user, copy in sorted(copies.items()):
        if copy.kept is None or copy.content_hash == shown.content_hash:
            continue
        promoted = copy.kept.occurrence()
        shown = Shown(copy.content_hash, user, copy.from_organizer_copy, promoted.start, promoted.end)
        copies[user] = replace(copy, kept=None)
        told = tuple(Note(ChangeKind.UPSERT, viewer, held.my_response) for viewer, held in sorted(copies.items()))
        return Merged(Meeting(shown, copies), promoted, (mailbox, user), (gone, *told))
    return Merged(Meeting(shown, copies), None, (mailbox,), (gone,))


@dataclass(frozen=True, slots=True)
class Entry:
    """A change-log entry to write: ``kind`` for ``user`` and ``key``, with what an upsert tells a client."""

    kind: ChangeKind
    user: str
    key: OccurrenceKey
    payload: dict[str, object]


@dataclass
class ChangeLog:
    """The entries of one batch: one per (user, occurrence), describing the final state.

    An occurrence touched twice in a batch gives each user one entry, the last; the removal of an occurrence a
    user did not see before the batch (put and dropped in it) gives none.
    """

    _pending: dict[tuple[str, OccurrenceKey], Entry] = field(default_factory=dict)
    _seen_before: dict[tuple[str, OccurrenceKey], bool] = field(default_factory=dict)

    def add(self, key: OccurrenceKey, merged: Merged) -> None:
        shown = merged.meeting.shown
        for note in merged.notes:
            pair = (note.user, key)
            self._seen_before.setdefault(pair, note.seen_before)
            self._pending.pop(pair, None)
            self._pending[pair] = Entry(note.kind, note.user, key, _payload(note, shown))

    def entries(self) -> list[Entry]:
        return [
            entry
            for pair, entry in self._pending.items()
            if entry.kind is not ChangeKind.DELETE or self._seen_before[pair]
        ]


def _payload(note: Note, shown: Shown | None) -> dict[str, object]:
    """What an upsert entry tells a client without a read: the user's answer and where the occurrence lies."""
    if note.kind is not ChangeKind.UPSERT or note.my_response is None or shown is None:
        return {}
    return {"my_response": note.my_response.value, "start": shown.start.isoformat(), "end": shown.end.isoformat()}


Incoming = PutOccurrence | DropOccurrence | DropItem


def merge(
    held: Mapping[OccurrenceKey, Meeting], changes: Iterable[Incoming]
) -> tuple[dict[OccurrenceKey, Meeting], list[Entry]]:
    """Apply a batch of ``changes`` in order to the meetings ``held`` (a meeting not given is held by nobody).

    Returns every meeting after the batch (those no longer held as :data:`NOTHING`) and the entries to log.
    ``DropItem`` drops every occurrence the mailbox holds through that item, by start.
    """
    meetings = dict(held)
    log = ChangeLog()
    for change in changes:
        if isinstance(change, PutOccurrence):
            key = change.occurrence.key
            outcomes = [(key, put(meetings.get(key, NOTHING), change))]
        elif isinstance(change, DropOccurrence):
            outcomes = [(change.key, drop(meetings.get(change.key, NOTHING), change.mailbox))]
        else:
            keys = keys_of_item(meetings, change.mailbox.lower(), change.item_id)
            outcomes = [(key, drop(meetings[key], change.mailbox)) for key in keys]
        for key, outcome in outcomes:
            meetings[key] = outcome.meeting
            log.add(key, outcome)
    return meetings, log.entries()


def keys_of_item(meetings: Mapping[OccurrenceKey, Meeting], mailbox: str, item_id: str) -> Sequence[OccurrenceKey]:
    """The occurrences ``mailbox`` holds through one Exchange item, by start."""
    found = [
        (meeting.shown.start, key)
        for key, meeting in meetings.items()
        if meeting.shown is not None and (copy := meeting.copies.get(mailbox)) is not None and copy.item_id == item_id
    ]
    return [key for _, key in sorted(found)]
