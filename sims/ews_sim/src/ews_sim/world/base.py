"""The state of the world and the store internals every part of it uses.

Public lookups that every operation needs (``mailbox``, ``folder``, ``mailbox_of_id``) live here too; the
public operations are grouped by job in directory.py, calendars.py, scheduling.py, tracking.py and
switches.py, and combined into :class:`~ews_sim.world.core.World`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ews_sim.world import ids
from ews_sim.world import meetings as rules
from ews_sim.world.changes import (
    ChangeKind,
    Journal,
    Subscriptions,
)
from ews_sim.world.clock import Clock, SimClock
from ews_sim.world.errors import (
    CalendarEndDateIsEarlierThanStartDate,
    EwsError,
    FolderNotFound,
    InvalidIdMalformed,
    InvalidRequest,
    ItemNotFound,
    NonExistentMailbox,
    NotRecurringMaster,
    OccurrenceCrossingBoundary,
    OccurrenceDeleted,
    OccurrenceIndexOutOfRange,
)
from ews_sim.world.faults import Gate
from ews_sim.world.model import (
    Account,
    Attendee,
    Body,
    BodyType,
    CalendarItem,
    CalendarItemType,
    EmailAddress,
    Folder,
    LegacyFreeBusyStatus,
    Mailbox,
)
from ews_sim.world.recurrence import Recurrence, to_local
from ews_sim.world.store import (
    EXCEPTION_FIELDS,
    Record,
    instant,
    normalise_times,
    occurrence_view,
    overlaps,
    view,
)

#: Attendee spec accepted by meeting methods: an SMTP address, or (smtp, display name) for outside people.
AttendeeSpec = str | tuple[str, str]

TIME_FIELDS = ("start", "end", "all_day", "time_zone", "recurrence")

OCCURRENCE_CHANGES = frozenset({"subject", "body", "body_type", "location", "start", "end"})


def smtp_key(smtp: str) -> str:
    """How SMTP addresses and logins are compared: case-insensitively, without surrounding blanks."""
    return smtp.strip().lower()


class WorldBase:
    """State, locking and store internals shared by the parts of :class:`~ews_sim.world.core.World`."""

    def __init__(self, clock: Clock | None = None) -> None:
        """``clock`` gives "now" (aware); by default a :class:`SimClock` on real time, so the control API can
        move time forward (subscription expiry, temporary faults) even in a running server."""
        self.clock: Clock = clock if clock is not None else SimClock()
        self.gate = Gate()
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        #: Bumped whenever subscriptions change other than by journal entries (removed, expired, dropped, reset),
        #: so that streaming waiters look at their subscriptions again.
        self._stream_changes = 0
        self._clear_state()

    def _clear_state(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._mailboxes: dict[str, Mailbox] = {}
        self._folders: dict[str, tuple[str, str]] = {}  # folder id -> (smtp, distinguished id)
        self._records: dict[str, dict[bytes, Record]] = {}
        self._uid_index: dict[tuple[str, str], bytes] = {}
        self._unavailable: dict[str, tuple[type[EwsError], datetime | None]] = {}  # error, until
        self._corrupt: set[bytes] = set()  # record keys whose GetItem fails with ErrorItemCorrupt
        self._sync_generation: dict[str, int] = {}
        self.journal = Journal(self._now)
        self._subscriptions = Subscriptions(self.journal, self._now)

    def reset(self) -> None:
        """Forget everything (mailboxes, accounts, items, subscriptions, faults, counters), as a fresh World.

        Ids, sync states and watermarks handed out before are not valid afterwards (a new journal epoch), so one
        server can serve many tests.
        """
        with self._cond:
            self._clear_state()
            self.gate.clear()
            self.gate.reset_counters()
            self._wake_streams()

    def _wake_streams(self) -> None:
        """Wake every streaming waiter to look at its subscriptions again (the condition's lock is held)."""
        self._stream_changes += 1
        self._cond.notify_all()

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def _mailbox(self, smtp: str) -> Mailbox:
        """The live mailbox, ignoring availability faults (control methods act as users, not as EWS)."""
        mailbox = self._mailboxes.get(smtp_key(smtp))
        if mailbox is None:
            raise NonExistentMailbox()
        return mailbox

    def _available(self, smtp: str) -> Mailbox:
        """The live mailbox as EWS reaches it: NonExistentMailbox, or the error of an availability fault."""
        mailbox = self._mailbox(smtp)
        fault = self._unavailable_fault(mailbox.smtp)
        if fault is not None:
            raise fault()
        return mailbox

    def mailbox(self, smtp: str) -> Mailbox:
        """The mailbox, or NonExistentMailbox; MailboxUnavailable while a fault makes it unavailable."""
        with self.lock:
            mailbox = self._available(smtp)
            result = mailbox.snapshot()
            result.folders["calendar"].total_count = len(self._records[mailbox.smtp])
            return result

    def _unavailable_fault(self, smtp: str) -> type[EwsError] | None:
        entry = self._unavailable.get(smtp)
        if entry is None:
            return None
        error, until = entry
        if until is not None and self.clock() >= until:
            del self._unavailable[smtp]
            return None
        return error

    def folder(self, folder_id: str) -> Folder:
        """A folder by its id (FolderNotFound / InvalidIdMalformed)."""
        ids.parse_folder_id(folder_id)
        with self.lock:
            where = self._folders.get(folder_id)
            if where is None:
                raise FolderNotFound()
            return self.distinguished_folder(*where)

    def distinguished_folder(self, smtp: str, distinguished_id: str) -> Folder:
        """``calendar``, ``inbox``, ``deleteditems``, ``msgfolderroot`` or ``root`` of a mailbox."""
        with self.lock:
            mailbox = self.mailbox(smtp)
            folder = mailbox.folders.get(distinguished_id.lower())
            if folder is None:
                raise FolderNotFound()
            if folder.distinguished_id == "calendar":
                folder.total_count = len(self._records[mailbox.smtp])
            folder.child_folder_count = sum(
                1 for f in mailbox.folders.values() if f.parent_folder_id == folder.folder_id
            )
            return folder

    def mailbox_of_id(self, item_or_folder_id: str) -> str:
        """The SMTP address an ItemId/FolderId belongs to (InvalidIdMalformed if it is not one of ours)."""
        try:
            return ids.parse_item_id(item_or_folder_id).mailbox
        except InvalidIdMalformed:
            return ids.parse_folder_id(item_or_folder_id).mailbox

    def _calendar_view(self, smtp: str, start: datetime, end: datetime) -> list[CalendarItem]:
        """The CalendarView of a mailbox (by its key), without access or availability checks."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        result: list[CalendarItem] = []
        for record in self._records[smtp].values():
            if not record.is_master:
                if overlaps(record.item, start, end):
                    result.append(view(record))
                continue
            for occ in record.occurrences(start, end):
                if occ.start not in record.deleted and occ.start not in record.exceptions:
                    result.append(occurrence_view(record, occ))
            for original_start in record.exceptions:
                if original_start in record.deleted:
                    continue
                moved = record.occurrence_by_start(original_start)
                if moved is None:
                    continue
                exception = occurrence_view(record, moved)
                if overlaps(exception, start, end):
                    result.append(exception)
        result.sort(key=lambda i: (i.start, i.end, i.item_id))
        return result

    def _calendar_id(self, smtp: str) -> str:
        return self._mailbox(smtp).folders["calendar"].folder_id

    def _journal(self, record: Record, kind: ChangeKind, moved_to: tuple[str, str] | None = None) -> None:
        self.journal.append(
            record.mailbox, record.item.parent_folder_id, kind, record.item_id(), record.item.change_key, moved_to
        )
        self._cond.notify_all()

    def _insert(self, smtp: str, item: CalendarItem) -> Record:
        """Store a new item (``item`` has every field but the ids) and journal its creation."""
        smtp = smtp_key(smtp)
        key = uuid.uuid4().bytes
        record = Record(key, smtp, item)
        item.mailbox = smtp
        item.parent_folder_id = self._calendar_id(smtp)
        item.item_id = record.item_id()
        item.change_key = ids.change_key(key, record.version)
        now = self._now()
        item.date_time_created = item.last_modified_time = now
        item.date_time_stamp = now
        self._records[smtp][key] = record
        self._uid_index[(smtp, item.uid)] = key
        self._journal(record, ChangeKind.CREATE)
        return record

    def _modified(self, record: Record) -> None:
        record.touch(self._now())
        self._journal(record, ChangeKind.UPDATE)

    def _remove(self, record: Record, *, to_deleted_items: bool = True) -> None:
        """Take an item out of the calendar: moved to Deleted Items (what Outlook does when a user deletes,
        declines or cancels; a MovedEvent for subscriptions) or hard-deleted (a DeletedEvent). Deleted Items
        is not modelled further: the moved item cannot be read back."""
        del self._records[record.mailbox][record.key]
        if self._uid_index.get((record.mailbox, record.item.uid)) == record.key:
            del self._uid_index[(record.mailbox, record.item.uid)]
        record.touch(self._now())
        moved_to = None
        if to_deleted_items:
            deleted_items = self._mailbox(record.mailbox).folders["deleteditems"].folder_id
            moved_to = (deleted_items, ids.item_id(record.mailbox, uuid.uuid4().bytes))
        self._journal(record, ChangeKind.DELETE, moved_to)

    def _resolve(self, item_id: str, smtp: str | None = None) -> tuple[Record, datetime | None]:
        ref = ids.parse_item_id(item_id)
        if smtp is not None and smtp_key(smtp) != ref.mailbox:
            raise ItemNotFound()
        record = self._records.get(ref.mailbox, {}).get(ref.key)
        if record is None:
            raise ItemNotFound()
        return record, ref.original_start

    def _by_uid(self, smtp: str, uid: str) -> Record | None:
        smtp = smtp_key(smtp)
        key = self._uid_index.get((smtp, uid))
        return None if key is None else self._records[smtp].get(key)

    def _occurrence_start(self, record: Record, occurrence: datetime | int) -> datetime:
        """The original start of an occurrence given by original start (aware or local) or 1-based index."""
        if not record.is_master:
            raise NotRecurringMaster()
        if isinstance(occurrence, int):
            occ = record.occurrence_by_index(occurrence)
            if occ is None:
                raise OccurrenceIndexOutOfRange()
            return occ.start
        start = instant(occurrence, record.item.start_time_zone)
        if record.occurrence_by_start(start) is None:
            raise ItemNotFound("No occurrence of the series starts at that time.")
        return start

    def _new_item(
        self,
        smtp: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        body: str,
        body_type: BodyType | str,
        location: str,
        all_day: bool,
        time_zone: str | None,
        recurrence: Recurrence | None,
        uid: str | None,
        extended_properties: dict[Any, Any] | None,
    ) -> CalendarItem:
        mailbox = self._mailbox(smtp)
        tz = time_zone or mailbox.time_zone
        try:
            start_utc, end_utc = normalise_times(start, end, tz, all_day, recurrence)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        return CalendarItem(
            item_id="",
            change_key="",
            parent_folder_id="",
            mailbox=mailbox.smtp,
            uid=uid or rules.new_uid(),
            subject=subject,
            body=Body(body, BodyType(body_type)),
            start=start_utc,
            end=end_utc,
            start_time_zone=tz,
            end_time_zone=tz,
            is_all_day=all_day,
            location=location,
            organizer=mailbox.address(),
            calendar_item_type=CalendarItemType.SINGLE if recurrence is None else CalendarItemType.RECURRING_MASTER,
            recurrence=recurrence,
            legacy_free_busy_status=LegacyFreeBusyStatus.FREE if all_day else LegacyFreeBusyStatus.BUSY,
            extended_properties=dict(extended_properties or {}),
        )

    def _attendees(self, specs: Iterable[AttendeeSpec], exclude: str) -> list[Attendee]:
        result: list[Attendee] = []
        seen = {exclude}
        for spec in specs:
            smtp, name = (spec, "") if isinstance(spec, str) else spec
            smtp = smtp_key(smtp)
            if smtp in seen:
                continue
            seen.add(smtp)
            known = self._mailboxes.get(smtp)
            result.append(Attendee(EmailAddress(smtp, name or (known.display_name if known else smtp))))
        return result

    def _apply_time_changes(self, record: Record, changes: dict[str, Any]) -> bool:
        """Apply start/end/all_day/time_zone/recurrence changes; True if the time changed (exceptions dropped)."""
        if not any(k in changes for k in TIME_FIELDS):
            return False
        item = record.item
        tz = changes.get("time_zone") or item.start_time_zone
        all_day = bool(changes.get("all_day", item.is_all_day))
        recurrence = changes.get("recurrence", item.recurrence)
        start = changes.get("start", item.start)
        end = changes.get("end")
        if end is None:
            end = instant(start, tz) + (item.end - item.start)
        try:
            new_start, new_end = normalise_times(start, end, tz, all_day, recurrence)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        changed = (new_start, new_end, tz, all_day, recurrence) != (
            item.start,
            item.end,
            item.start_time_zone,
            item.is_all_day,
            item.recurrence,
        )
        item.start, item.end, item.start_time_zone, item.end_time_zone = new_start, new_end, tz, tz
        item.is_all_day = all_day
        item.recurrence = recurrence
        item.calendar_item_type = CalendarItemType.SINGLE if recurrence is None else CalendarItemType.RECURRING_MASTER
        if changed:
            record.exceptions.clear()
            record.deleted.clear()
        return changed

    def _apply_text_changes(self, item: CalendarItem, changes: dict[str, Any]) -> None:
        if "subject" in changes:
            item.subject = changes["subject"]
        if "body" in changes or "body_type" in changes:
            item.body = Body(
                changes.get("body", item.body.content), BodyType(changes.get("body_type", item.body.body_type))
            )
        if "location" in changes:
            item.location = changes["location"]

    def _check_boundaries(self, record: Record, original_start: datetime, new_start: datetime) -> None:
        """An occurrence must stay strictly between the days of its neighbours (ErrorOccurrenceCrossingBoundary)."""
        tz = record.item.start_time_zone
        previous: datetime | None = None
        following: datetime | None = None
        for occ in record.iter_occurrences():
            if occ.start in record.deleted:
                continue
            effective = record.exceptions.get(occ.start, {}).get("start", occ.start)
            if occ.start < original_start:
                previous = effective
            elif occ.start > original_start:
                following = effective
                break
        day = to_local(new_start, tz).date()
        if previous is not None and day <= to_local(previous, tz).date():
            raise OccurrenceCrossingBoundary()
        if following is not None and day >= to_local(following, tz).date():
            raise OccurrenceCrossingBoundary()

    def _set_exception(self, record: Record, original_start: datetime, changes: dict[str, Any]) -> bool:
        """Merge ``changes`` into an occurrence's overrides; True if its time changed."""
        unknown = set(changes) - OCCURRENCE_CHANGES
        if unknown:
            raise InvalidRequest(f"cannot change {sorted(unknown)} of an occurrence")
        if original_start in record.deleted:
            raise OccurrenceDeleted()
        occ = record.occurrence_by_start(original_start)
        if occ is None:
            raise ItemNotFound()
        overrides = record.exceptions.setdefault(original_start, {})
        tz = record.item.start_time_zone
        current_start = overrides.get("start", occ.start)
        current_end = overrides.get("end", occ.end)
        new_start = instant(changes["start"], tz) if "start" in changes else current_start
        new_end = instant(changes["end"], tz) if "end" in changes else new_start + (current_end - current_start)
        if new_end < new_start:
            raise CalendarEndDateIsEarlierThanStartDate()
        time_changed = (new_start, new_end) != (current_start, current_end)
        if new_start != current_start:
            self._check_boundaries(record, original_start, new_start)
        if new_start != occ.start or "start" in overrides:
            overrides["start"] = new_start
        if new_end != occ.end or "end" in overrides:
            overrides["end"] = new_end
        if "subject" in changes:
            overrides["subject"] = changes["subject"]
        if "location" in changes:
            overrides["location"] = changes["location"]
        if "body" in changes or "body_type" in changes:
            base = overrides.get("body", record.item.body)
            overrides["body"] = Body(
                changes.get("body", base.content), BodyType(changes.get("body_type", base.body_type))
            )
        overrides["last_modified_time"] = self._now()
        assert set(overrides) <= EXCEPTION_FIELDS
        return time_changed
