"""The World: the state of a simulated Exchange organisation and every operation on it.

Pure Python (no sockets, no XML). The protocol layer's handlers call the read side (``open_mailbox``,
``calendar_view``, ``find_items``, ``get_item``, ``sync_folder_items``, subscriptions) and ``gate`` for faults;
tests, scenarios and the control API call the write side, which behaves as Outlook users would
(``create_meeting``, ``respond``, ``update_meeting``, ``cancel_meeting``...).

All methods are thread-safe: one re-entrant lock guards the state, and a condition on it wakes streaming
waiters when the journal grows. SMTP addresses and logins compare case-insensitively.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ews_sim.world import ids
from ews_sim.world import meetings as rules
from ews_sim.world.changes import (
    ChangeKind,
    Event,
    EventBatch,
    EventType,
    Journal,
    Subscription,
    SubscriptionKind,
    Subscriptions,
    SyncChange,
    SyncResult,
    net_changes,
)
from ews_sim.world.errors import (
    AccessDenied,
    CalendarEndDateIsEarlierThanStartDate,
    FolderNotFound,
    ImpersonateUserDenied,
    InvalidIdMalformed,
    InvalidRequest,
    ItemNotFound,
    MailboxMoveInProgress,
    MailboxUnavailable,
    NonExistentMailbox,
    NotRecurringMaster,
    OccurrenceCrossingBoundary,
    OccurrenceDeleted,
    OccurrenceIndexOutOfRange,
    StreamingConnectionDropped,
)
from ews_sim.world.faults import Gate
from ews_sim.world.model import (
    APPOINTMENT_STATE_MEETING,
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
    ResponseType,
    clone,
)
from ews_sim.world.recurrence import Recurrence, to_local, zone
from ews_sim.world.store import (
    EXCEPTION_FIELDS,
    Record,
    instant,
    normalise_times,
    occurrence_view,
    overlaps,
    view,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A clock that runs with real time plus an adjustable offset (the control API can move time forward)."""

    def __init__(self, base: Clock = utc_now) -> None:
        self._base = base
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self()

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._offset = when.astimezone(UTC) - self._base()
        return self()


#: Attendee spec accepted by meeting methods: an SMTP address, or (smtp, display name) for outside people.
AttendeeSpec = str | tuple[str, str]

#: Distinguished folders every mailbox has: (distinguished id, display name, folder class, parent).
_FOLDERS = (
    ("root", "", "", None),
    ("msgfolderroot", "Top of Information Store", "IPF.Note", "root"),
    ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    ("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
)

_TIME_FIELDS = ("start", "end", "all_day", "time_zone", "recurrence")
_MEETING_CHANGES = frozenset(
    {"subject", "body", "body_type", "location", "required", "optional", "resources", *_TIME_FIELDS}
)
_OCCURRENCE_CHANGES = frozenset({"subject", "body", "body_type", "location", "start", "end"})
_ITEM_CHANGES = frozenset(
    {
        "subject",
        "body",
        "body_type",
        "location",
        *_TIME_FIELDS,
        "categories",
        "extended_properties",
        "legacy_free_busy_status",
        "sensitivity",
        "importance",
        "reminder_is_set",
        "reminder_minutes_before_start",
        "is_cancelled",
    }
)


def _lower(smtp: str) -> str:
    return smtp.strip().lower()


class World:
    """A simulated Exchange organisation."""

    def __init__(self, clock: Clock | None = None) -> None:
        """``clock`` gives "now" (aware); by default a :class:`SimClock` on real time, so the control API can
        move time forward (subscription expiry, temporary faults) even in a running server."""
        self.clock: Clock = clock if clock is not None else SimClock()
        self.gate = Gate()
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._clear_state()

    def _clear_state(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._mailboxes: dict[str, Mailbox] = {}
        self._folders: dict[str, tuple[str, str]] = {}  # folder id -> (smtp, distinguished id)
        self._records: dict[str, dict[bytes, Record]] = {}
        self._uid_index: dict[tuple[str, str], bytes] = {}
        self._unavailable: dict[str, tuple[type[MailboxUnavailable], datetime | None]] = {}  # error, until
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
            self._cond.notify_all()

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    # -- directory ------------------------------------------------------------------------------------------

    def add_mailbox(
        self,
        smtp: str,
        display_name: str,
        time_zone: str = "UTC",
        password: str | None = None,
        language: str = "en",
    ) -> Mailbox:
        """Create a mailbox with its folders. With ``password`` its user can log in (login = SMTP address).

        ``language`` is the user's Outlook language: cancellations they send are prefixed "Canceled: ",
        "Abgesagt: ", "Отменено: "... accordingly."""
        key = _lower(smtp)
        if "@" not in key:
            raise InvalidRequest(f"not an SMTP address: {smtp!r}")
        try:
            zone(time_zone)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        with self.lock:
            if key in self._mailboxes:
                raise InvalidRequest(f"mailbox {smtp} exists already")
            mailbox = Mailbox(key, display_name, time_zone, language=language)
            for distinguished, name, folder_class, parent in _FOLDERS:
                folder_key = hashlib.sha1(f"{key}/{distinguished}".encode()).digest()[:16]
                fid = ids.folder_id(key, folder_key)
                parent_id = mailbox.folders[parent].folder_id if parent else None
                mailbox.folders[distinguished] = Folder(
                    fid, ids.change_key(folder_key, 1), distinguished, name, folder_class, parent_id
                )
                self._folders[fid] = (key, distinguished)
            self._mailboxes[key] = mailbox
            self._records[key] = {}
            self._sync_generation[key] = 0
            if password is not None:
                self._accounts[key] = Account(key, password, impersonation=False, smtp=key, is_service=False)
            return copy.deepcopy(mailbox)

    def add_service_account(self, login: str, password: str, impersonation: bool = True) -> Account:
        """A service account; with ``impersonation`` it holds ApplicationImpersonation over every mailbox."""
        with self.lock:
            account = Account(login, password, impersonation=impersonation, smtp=None, is_service=True)
            self._accounts[_lower(login)] = account
            return copy.deepcopy(account)

    def authenticate(self, login: str, password: str) -> Account | None:
        """The account for these credentials, or None. Logins compare case-insensitively; ``DOMAIN\\user`` and
        ``user@domain`` forms of a service login are accepted too."""
        account = self.account(login)
        if account is None or not secrets.compare_digest(account.password.encode(), password.encode()):
            return None
        return account

    def account(self, login: str) -> Account | None:
        key = _lower(login)
        candidates = [key]
        if "\\" in key:
            candidates.append(key.split("\\", 1)[1])
        if "@" in key:
            candidates.append(key.split("@", 1)[0])
        with self.lock:
            for candidate in candidates:
                account = self._accounts.get(candidate)
                if account is not None and (candidate == key or account.is_service):
                    return copy.deepcopy(account)
        return None

    def can_impersonate(self, account: Account, smtp: str) -> bool:
        with self.lock:
            return account.impersonation and _lower(smtp) in self._mailboxes

    def grant_delegate(self, owner: str, delegate: str) -> None:
        """Give ``delegate`` Editor (delegate) rights on ``owner``'s calendar."""
        with self.lock:
            self._mailbox(owner).delegates.add(self._mailbox(delegate).smtp)

    def revoke_delegate(self, owner: str, delegate: str) -> None:
        with self.lock:
            self._mailbox(owner).delegates.discard(_lower(delegate))

    def mailboxes(self) -> list[Mailbox]:
        with self.lock:
            return [copy.deepcopy(m) for m in self._mailboxes.values()]

    def find_mailboxes(self, query: str) -> list[Mailbox]:
        """ResolveNames-style lookup: mailboxes whose SMTP address or display name starts with ``query`` (or whose
        display name has a word starting with it), case-insensitively, sorted by display name."""
        needle = query.strip().lower().removeprefix("smtp:")
        with self.lock:
            found = [
                m
                for m in self._mailboxes.values()
                if m.smtp.startswith(needle)
                or m.display_name.lower().startswith(needle)
                or any(word.startswith(needle) for word in m.display_name.lower().split())
            ]
            return [copy.deepcopy(m) for m in sorted(found, key=lambda m: (m.display_name.lower(), m.smtp))]

    def _mailbox(self, smtp: str) -> Mailbox:
        """The live mailbox, ignoring availability faults (control methods act as users, not as EWS)."""
        mailbox = self._mailboxes.get(_lower(smtp))
        if mailbox is None:
            raise NonExistentMailbox()
        return mailbox

    def mailbox(self, smtp: str) -> Mailbox:
        """The mailbox, or NonExistentMailbox; MailboxUnavailable while a fault makes it unavailable."""
        with self.lock:
            mailbox = self._mailbox(smtp)
            fault = self._unavailable_fault(mailbox.smtp)
            if fault is not None:
                raise fault()
            result = copy.deepcopy(mailbox)
            result.folders["calendar"].total_count = len(self._records[mailbox.smtp])
            return result

    def open_mailbox(self, account: Account, smtp: str | None = None, *, impersonate: bool = False) -> Mailbox:
        """The mailbox ``account`` may read: its own (``smtp`` None), an impersonated one, or a delegated one.

        Raises ImpersonateUserDenied (impersonation without the role), NonExistentMailbox, AccessDenied
        (another mailbox without delegate rights), MailboxUnavailable.
        """
        with self.lock:
            if impersonate:
                if not account.impersonation:
                    raise ImpersonateUserDenied()
                if smtp is None:
                    raise NonExistentMailbox()
                return self.mailbox(smtp)
            target = smtp or account.smtp
            if target is None:
                raise NonExistentMailbox("The account has no mailbox.")
            mailbox = self.mailbox(target)
            own = account.smtp is not None and _lower(account.smtp) == mailbox.smtp
            if not own and (account.smtp is None or _lower(account.smtp) not in mailbox.delegates):
                raise AccessDenied()
            return mailbox

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

    # -- store internals ------------------------------------------------------------------------------------

    def _calendar_id(self, smtp: str) -> str:
        return self._mailbox(smtp).folders["calendar"].folder_id

    def _journal(self, record: Record, kind: ChangeKind, moved_to: tuple[str, str] | None = None) -> None:
        self.journal.append(
            record.mailbox, record.item.parent_folder_id, kind, record.item_id(), record.item.change_key, moved_to
        )
        self._cond.notify_all()

    def _insert(self, smtp: str, item: CalendarItem) -> Record:
        """Store a new item (``item`` has every field but the ids) and journal its creation."""
        smtp = _lower(smtp)
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
        if smtp is not None and _lower(smtp) != ref.mailbox:
            raise ItemNotFound()
        record = self._records.get(ref.mailbox, {}).get(ref.key)
        if record is None:
            raise ItemNotFound()
        return record, ref.original_start

    def _by_uid(self, smtp: str, uid: str) -> Record | None:
        smtp = _lower(smtp)
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
            smtp = _lower(smtp)
            if smtp in seen:
                continue
            seen.add(smtp)
            known = self._mailboxes.get(smtp)
            result.append(Attendee(EmailAddress(smtp, name or (known.display_name if known else smtp))))
        return result

    def _apply_time_changes(self, record: Record, changes: dict[str, Any]) -> bool:
        """Apply start/end/all_day/time_zone/recurrence changes; True if the time changed (exceptions dropped)."""
        if not any(k in changes for k in _TIME_FIELDS):
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

    # -- reading calendars ----------------------------------------------------------------------------------

    def calendar_view(self, smtp: str, start: datetime, end: datetime) -> list[CalendarItem]:
        """FindItem with a CalendarView: singles overlapping [start, end) and occurrences/exceptions of masters
        (never masters), sorted by (start, end, item_id) so that paging is stable."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        with self.lock:
            mailbox = self.mailbox(smtp)
            result: list[CalendarItem] = []
            for record in self._records[mailbox.smtp].values():
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
                    occ = record.occurrence_by_start(original_start)
                    if occ is None:
                        continue
                    exception = occurrence_view(record, occ)
                    if overlaps(exception, start, end):
                        result.append(exception)
            result.sort(key=lambda i: (i.start, i.end, i.item_id))
            return result

    def find_items(self, smtp: str) -> list[CalendarItem]:
        """FindItem without a view: singles and recurring masters, sorted by (start, item_id)."""
        with self.lock:
            mailbox = self.mailbox(smtp)
            items = [view(r) for r in self._records[mailbox.smtp].values()]
            return sorted(items, key=lambda i: (i.start, i.item_id))

    def get_item(self, item_id: str, smtp: str | None = None) -> CalendarItem:
        """A single, a master, an occurrence or an exception by its ItemId. With ``smtp``, the id must belong to
        that mailbox (ItemNotFound otherwise). InvalidIdMalformed for ids that are not ours."""
        with self.lock:
            record, original_start = self._resolve(item_id, smtp)
            self.mailbox(record.mailbox)
            if original_start is None:
                return view(record)
            if not record.is_master or original_start in record.deleted:
                raise ItemNotFound()
            occ = record.occurrence_by_start(original_start)
            if occ is None:
                raise ItemNotFound()
            return occurrence_view(record, occ)

    def get_occurrence(self, master_id: str, instance_index: int) -> CalendarItem:
        """EWS OccurrenceItemId: the ``instance_index``-th (1-based) occurrence of a series.

        Raises OccurrenceIndexOutOfRange, OccurrenceDeleted, ItemNotFound (master gone or not a master).
        """
        with self.lock:
            record, original_start = self._resolve(master_id)
            self.mailbox(record.mailbox)
            if original_start is not None or not record.is_master:
                raise NotRecurringMaster()
            occ = record.occurrence_by_index(instance_index)
            if occ is None:
                raise OccurrenceIndexOutOfRange()
            if occ.start in record.deleted:
                raise OccurrenceDeleted()
            return occurrence_view(record, occ)

    def get_recurring_master(self, item_id: str) -> CalendarItem:
        """EWS RecurringMasterItemId: the master of an occurrence/exception (or the master itself)."""
        with self.lock:
            record, _ = self._resolve(item_id)
            self.mailbox(record.mailbox)
            if not record.is_master:
                raise NotRecurringMaster()
            return view(record)

    def items_by_uid(self, uid: str) -> list[CalendarItem]:
        """Every mailbox's copy of a meeting (organizer's and attendees'), singles/masters only."""
        with self.lock:
            found = [self._records[smtp][key] for (smtp, u), key in self._uid_index.items() if u == uid]
            return [view(r) for r in sorted(found, key=lambda r: (not r.item.is_organizer, r.mailbox))]

    # -- appointments (non-meetings) and raw edits ----------------------------------------------------------

    def create_appointment(
        self,
        smtp: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        body: str = "",
        body_type: BodyType = BodyType.TEXT,
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: Recurrence | None = None,
        categories: Sequence[str] = (),
        extended_properties: dict[Any, Any] | None = None,
        uid: str | None = None,
    ) -> CalendarItem:
        """An appointment (no attendees) in ``smtp``'s calendar. Naive datetimes are in ``time_zone``
        (default: the mailbox's zone); all-day items are snapped to local midnights."""
        with self.lock:
            item = self._new_item(
                smtp,
                subject,
                start,
                end,
                body=body,
                body_type=body_type,
                location=location,
                all_day=all_day,
                time_zone=time_zone,
                recurrence=recurrence,
                uid=uid,
                extended_properties=extended_properties,
            )
            item.categories = list(categories)
            item.is_response_requested = False
            return view(self._insert(smtp, item))

    def update_item(self, item_id: str, **changes: Any) -> CalendarItem:
        """Edit one item in place without notifying anyone (subject, body, body_type, location, start, end,
        all_day, time_zone, recurrence, categories, extended_properties, legacy_free_busy_status...).

        ``extended_properties`` merges into the item's (a None value removes that property).

        Given an occurrence id, the occurrence becomes an exception (subject, body, location, start, end)."""
        with self.lock:
            record, original_start = self._resolve(item_id)
            if original_start is not None:
                self._set_exception(record, original_start, changes)
                self._modified(record)
                return self.get_item(item_id)
            unknown = set(changes) - _ITEM_CHANGES
            if unknown:
                raise InvalidRequest(f"cannot change {sorted(unknown)}")
            self._apply_time_changes(record, changes)
            self._apply_text_changes(record.item, changes)
            for name in _ITEM_CHANGES - set(_TIME_FIELDS) - {"subject", "body", "body_type", "location"}:
                if name in changes:
                    value = changes[name]
                    if name == "legacy_free_busy_status":
                        value = LegacyFreeBusyStatus(value)
                    if name == "extended_properties":
                        # SetItemField of one property: merge; a None value deletes it (DeleteItemField)
                        merged = {**record.item.extended_properties, **clone(value)}
                        value = {k: v for k, v in merged.items() if v is not None}
                    setattr(record.item, name, clone(value))
            self._modified(record)
            return view(record)

    def delete_item(self, item_id: str, delete_type: str = "HardDelete") -> None:
        """Delete a single/master (or, given an occurrence id, that occurrence) without notifying anyone.

        ``delete_type`` is EWS's DeleteType: HardDelete and SoftDelete give subscribers a DeletedEvent,
        MoveToDeletedItems a MovedEvent. SyncFolderItems reports a Delete either way.
        """
        if delete_type not in ("HardDelete", "SoftDelete", "MoveToDeletedItems"):
            raise InvalidRequest(f"not a DeleteType: {delete_type!r}")
        with self.lock:
            record, original_start = self._resolve(item_id)
            if original_start is None:
                self._remove(record, to_deleted_items=delete_type == "MoveToDeletedItems")
                return
            if original_start in record.deleted:
                raise ItemNotFound()
            record.deleted.add(original_start)
            record.exceptions.pop(original_start, None)
            self._modified(record)

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
        unknown = set(changes) - _OCCURRENCE_CHANGES
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

    # -- meetings -------------------------------------------------------------------------------------------

    def _organizer_record(self, organizer: str, uid: str, as_delegate: str | None = None) -> Record:
        mailbox = self._mailbox(organizer)
        if as_delegate is not None and _lower(as_delegate) not in mailbox.delegates:
            raise AccessDenied()
        record = self._by_uid(organizer, uid)
        if record is None or not record.item.is_organizer:
            raise ItemNotFound("The organizer has no meeting with that UID.")
        return record

    def _invite(self, organizer: Record, smtp: str) -> Record | None:
        """Create ``smtp``'s copy of the organizer's meeting (None for people outside this world)."""
        if smtp not in self._mailboxes:
            return None
        existing = self._by_uid(smtp, organizer.item.uid)
        if existing is not None:
            rules.sync_copy(existing, organizer, reset_response=True)
            self._modified(existing)
            return existing
        template = CalendarItem(
            "", "", "", smtp, organizer.item.uid, "", Body(), organizer.item.start, organizer.item.end, "UTC", "UTC"
        )
        record = self._insert(smtp, rules.make_attendee_copy(organizer.item, template))
        record.exceptions = {
            start: {k: clone(v) for k, v in o.items() if k not in ("my_response_type", "legacy_free_busy_status")}
            for start, o in organizer.exceptions.items()
        }
        record.deleted = set(organizer.deleted)
        return record

    def create_meeting(
        self,
        organizer: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        required: Iterable[AttendeeSpec] = (),
        optional: Iterable[AttendeeSpec] = (),
        resources: Iterable[AttendeeSpec] = (),
        body: str = "",
        body_type: BodyType = BodyType.TEXT,
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: Recurrence | None = None,
        send_invitations: bool = True,
        as_delegate: str | None = None,
        uid: str | None = None,
        extended_properties: dict[Any, Any] | None = None,
    ) -> CalendarItem:
        """Schedule a meeting: the organizer's item plus a copy (same UID) in each attendee mailbox in this world.

        Attendee copies have MyResponseType NoResponseReceived; the organizer's attendees start Unknown. With
        ``send_invitations=False`` only the organizer's item exists. With ``as_delegate`` a delegate of
        ``organizer`` acts: AccessDenied without delegate rights; the item is in ``organizer``'s calendar and
        ``organizer`` is the organizer. Returns the organizer's item.
        """
        with self.lock:
            mailbox = self._mailbox(organizer)
            if as_delegate is not None:
                self._mailbox(as_delegate)
                if _lower(as_delegate) not in mailbox.delegates:
                    raise AccessDenied()
            if uid is not None and self._by_uid(organizer, uid) is not None:
                raise InvalidRequest(f"{organizer} already has an item with UID {uid}")
            item = self._new_item(
                organizer,
                subject,
                start,
                end,
                body=body,
                body_type=body_type,
                location=location,
                all_day=all_day,
                time_zone=time_zone,
                recurrence=recurrence,
                uid=uid,
                extended_properties=extended_properties,
            )
            item.is_meeting = True
            item.appointment_state = APPOINTMENT_STATE_MEETING
            item.my_response_type = ResponseType.ORGANIZER
            item.legacy_free_busy_status = LegacyFreeBusyStatus.BUSY
            item.required_attendees = self._attendees(required, mailbox.smtp)
            taken = {a.mailbox.email_address for a in item.required_attendees} | {mailbox.smtp}
            item.optional_attendees = [
                a for a in self._attendees(optional, mailbox.smtp) if a.mailbox.email_address not in taken
            ]
            taken |= {a.mailbox.email_address for a in item.optional_attendees}
            item.resources = [
                a for a in self._attendees(resources, mailbox.smtp) if a.mailbox.email_address not in taken
            ]
            item.meeting_request_was_sent = send_invitations
            record = self._insert(organizer, item)
            if send_invitations:
                for smtp in rules.attendee_smtps(item):
                    self._invite(record, smtp)
            return view(record)

    def respond(
        self,
        attendee: str,
        uid_or_item_id: str,
        response: ResponseType | str,
        *,
        occurrence: datetime | int | None = None,
    ) -> CalendarItem | None:
        """Accept, Tentative or Decline (the whole series, or one occurrence by original start or index).

        The attendee's MyResponseType changes and the organizer's copy records the attendee's ResponseType and
        LastResponseTime. As in Exchange's default, a declined meeting is removed from the attendee's calendar
        (a declined occurrence becomes a deleted occurrence there). Returns the attendee's item (None if gone).
        """
        try:
            answer = ResponseType(response)
        except ValueError as exc:
            raise InvalidRequest(f"not a response: {response!r}") from exc
        if answer not in rules.RESPONSES:
            raise InvalidRequest("the response must be Accept, Tentative or Decline")
        with self.lock:
            smtp = self._mailbox(attendee).smtp
            record = self._by_uid(smtp, uid_or_item_id)
            if record is None:
                try:
                    record, original_start = self._resolve(uid_or_item_id, smtp)
                except InvalidIdMalformed as exc:
                    raise ItemNotFound("The attendee has no meeting with that UID.") from exc
                if original_start is not None and occurrence is None:
                    occurrence = original_start
            if record.item.is_organizer or not record.item.is_meeting:
                raise InvalidRequest("only an attendee can respond to a meeting")
            now = self._now()
            organizer_smtp = record.item.organizer.email_address if record.item.organizer else ""
            organizer = self._by_uid(organizer_smtp, record.item.uid) if organizer_smtp in self._mailboxes else None
            if organizer is not None and not organizer.item.is_organizer:
                organizer = None
            if occurrence is None:
                if organizer is not None and rules.record_response(
                    rules.all_attendees(organizer.item), smtp, answer, now
                ):
                    self._modified(organizer)
                if answer == ResponseType.DECLINE:
                    self._remove(record)
                    return None
                record.item.my_response_type = answer
                record.item.appointment_reply_time = now
                record.item.legacy_free_busy_status = rules.free_busy_for(answer)
                self._modified(record)
                return view(record)
            original_start = self._occurrence_start(record, occurrence)
            if original_start in record.deleted:
                raise OccurrenceDeleted()
            if organizer is not None and organizer.is_master and original_start not in organizer.deleted:
                overrides = organizer.exceptions.setdefault(original_start, {})
                for name in ("required_attendees", "optional_attendees", "resources"):
                    attendees = overrides.get(name, clone(getattr(organizer.item, name)))
                    if rules.record_response(attendees, smtp, answer, now):
                        overrides[name] = attendees
                self._modified(organizer)
            if answer == ResponseType.DECLINE:
                record.deleted.add(original_start)
                record.exceptions.pop(original_start, None)
                self._modified(record)
                return None
            overrides = record.exceptions.setdefault(original_start, {})
            overrides["my_response_type"] = answer
            overrides["legacy_free_busy_status"] = rules.free_busy_for(answer)
            self._modified(record)
            occ = record.occurrence_by_start(original_start)
            assert occ is not None
            return occurrence_view(record, occ)

    def update_meeting(self, organizer: str, uid: str, **changes: Any) -> CalendarItem:
        """The organizer edits the meeting and sends the update to all attendees.

        ``changes``: subject, body, body_type, location, start, end, all_day, time_zone, recurrence, required,
        optional, resources (full new attendee lists), as_delegate. A time change resets responses (attendees
        must respond again, declined attendees get the meeting back); removed attendees get a cancellation,
        added ones an invitation. AppointmentSequenceNumber increases on time, location or attendee changes.
        """
        as_delegate = changes.pop("as_delegate", None)
        unknown = set(changes) - _MEETING_CHANGES
        if unknown:
            raise InvalidRequest(f"cannot change {sorted(unknown)} of a meeting")
        with self.lock:
            record = self._organizer_record(organizer, uid, as_delegate)
            item = record.item
            before = set(rules.attendee_smtps(item))
            old_location = item.location
            time_changed = self._apply_time_changes(record, changes)
            self._apply_text_changes(item, changes)
            attendees_changed = False
            for name, field_name in (
                ("required", "required_attendees"),
                ("optional", "optional_attendees"),
                ("resources", "resources"),
            ):
                if name in changes:
                    new = self._attendees(changes[name], record.mailbox)
                    old = {a.mailbox.email_address: a for a in getattr(item, field_name)}
                    merged = [old.get(a.mailbox.email_address, a) for a in new]
                    attendees_changed |= [a.mailbox.email_address for a in merged] != list(old)
                    setattr(item, field_name, merged)
            if time_changed:
                rules.reset_responses(item)
            if time_changed or attendees_changed or item.location != old_location:
                item.appointment_sequence_number += 1
            self._modified(record)
            after = rules.attendee_smtps(item)
            for smtp in before - set(after):
                copy_record = self._by_uid(smtp, uid)
                if copy_record is not None and not copy_record.item.is_organizer:
                    rules.cancel_copy(copy_record.item, rules.canceled_prefix(self._mailbox(record.mailbox).language))
                    self._modified(copy_record)
            for smtp in after:
                copy_record = self._by_uid(smtp, uid)
                if copy_record is None:
                    if smtp not in before or time_changed:
                        self._invite(record, smtp)
                    continue
                # a re-invited attendee (removed earlier, so holding a cancelled copy) must answer again
                rules.sync_copy(copy_record, record, reset_response=time_changed or smtp not in before)
                self._modified(copy_record)
            return view(record)

    def update_occurrence(self, organizer: str, uid: str, occurrence: datetime | int, **changes: Any) -> CalendarItem:
        """Modify one occurrence (by original start or 1-based index): an exception in every copy.

        ``changes``: subject, body, location, start, end. A time change asks attendees to answer that
        occurrence again. Returns the organizer's exception.
        """
        as_delegate = changes.pop("as_delegate", None)
        with self.lock:
            record = self._organizer_record(organizer, uid, as_delegate)
            original_start = self._occurrence_start(record, occurrence)
            time_changed = self._set_exception(record, original_start, changes)
            if time_changed:
                overrides = record.exceptions[original_start]
                for name in ("required_attendees", "optional_attendees", "resources"):
                    attendees = overrides.get(name, clone(getattr(record.item, name)))
                    for attendee in attendees:
                        attendee.response_type = ResponseType.UNKNOWN
                        attendee.last_response_time = None
                    overrides[name] = attendees
            self._modified(record)
            for copy_record in self._attendee_copies(record):
                if time_changed:
                    personal = copy_record.exceptions.get(original_start, {})
                    personal.pop("my_response_type", None)
                    personal.pop("legacy_free_busy_status", None)
                    copy_record.deleted.discard(original_start)
                rules.sync_copy(copy_record, record, reset_response=False)
                if time_changed:
                    overrides = copy_record.exceptions.setdefault(original_start, {})
                    overrides["my_response_type"] = ResponseType.NO_RESPONSE_RECEIVED
                    overrides["legacy_free_busy_status"] = LegacyFreeBusyStatus.TENTATIVE
                self._modified(copy_record)
            occ = record.occurrence_by_start(original_start)
            assert occ is not None
            return occurrence_view(record, occ)

    def _attendee_copies(self, organizer: Record) -> list[Record]:
        copies = []
        for smtp in rules.attendee_smtps(organizer.item):
            found = self._by_uid(smtp, organizer.item.uid)
            if found is not None and not found.item.is_organizer and not found.item.is_cancelled:
                copies.append(found)
        return copies

    def delete_occurrence(
        self, organizer: str, uid: str, occurrence: datetime | int, as_delegate: str | None = None
    ) -> None:
        """Cancel one occurrence: it becomes a DeletedOccurrence in every copy."""
        with self.lock:
            record = self._organizer_record(organizer, uid, as_delegate)
            original_start = self._occurrence_start(record, occurrence)
            if original_start in record.deleted:
                raise OccurrenceDeleted()
            record.deleted.add(original_start)
            record.exceptions.pop(original_start, None)
            self._modified(record)
            for copy_record in self._attendee_copies(record):
                copy_record.deleted.add(original_start)
                copy_record.exceptions.pop(original_start, None)
                self._modified(copy_record)

    def cancel_meeting(self, organizer: str, uid: str, as_delegate: str | None = None) -> None:
        """Cancel the meeting: the organizer's item is deleted; attendee copies stay, IsCancelled, their subject
        prefixed with "Canceled: " (until the attendee removes them with :meth:`delete_item`)."""
        with self.lock:
            record = self._organizer_record(organizer, uid, as_delegate)
            copies = self._attendee_copies(record)
            self._remove(record)
            for copy_record in copies:
                rules.cancel_copy(copy_record.item, rules.canceled_prefix(self._mailbox(record.mailbox).language))
                self._modified(copy_record)

    # -- change tracking ------------------------------------------------------------------------------------

    def sync_folder_items(self, folder_id: str, sync_state: str | None, max_changes: int = 512) -> SyncResult:
        """SyncFolderItems on a calendar folder: net changes (one per item) since ``sync_state``.

        Unpackable as ``changes, new_state, includes_last_item_in_range``. Raises InvalidSyncStateData for a
        garbled state, one from another folder, or one invalidated by a fault.
        """
        if not 1 <= max_changes <= 512:
            raise InvalidRequest("MaxChangesReturned must be between 1 and 512.")
        with self.lock:
            folder = self.folder(folder_id)
            smtp = self.mailbox_of_id(folder_id)
            folder_key = ids.parse_folder_id(folder_id).key
            generation = self._sync_generation[smtp]
            position = 0 if not sync_state else self.journal.parse_sync_state(sync_state, folder_key, generation)
            found, consumed, complete = net_changes(self.journal.since(position), folder.folder_id, max_changes)
            new_position = self.journal.last_seq if complete else max(consumed, position)
            changes: list[SyncChange] = []
            for change in found:
                if change.kind == ChangeKind.DELETE:
                    changes.append(SyncChange(ChangeKind.DELETE, change.item_id, None))
                    continue
                try:
                    record, _ = self._resolve(change.item_id)
                except ItemNotFound:
                    if change.kind == ChangeKind.UPDATE:  # deleted later, beyond this batch
                        changes.append(SyncChange(ChangeKind.DELETE, change.item_id, None))
                    continue
                changes.append(SyncChange(change.kind, change.item_id, record.item.change_key, view(record)))
            state = self.journal.sync_state(folder_key, generation, new_position)
            return SyncResult(changes, state, complete)

    def subscribe(
        self,
        smtp: str,
        kind: SubscriptionKind | str = SubscriptionKind.PULL,
        event_types: Iterable[EventType | str] = (),
        *,
        folder_ids: Iterable[str] | None = None,
        all_folders: bool = False,
        watermark: str | None = None,
        timeout_minutes: int = 30,
        owner_login: str | None = None,
    ) -> tuple[str, str]:
        """Create a subscription on folders of one mailbox (default: its calendar). Returns (id, watermark).

        With ``watermark`` (from an earlier subscription) events after it are delivered; InvalidWatermark if
        it is not ours. Empty ``event_types`` means every type.
        """
        try:
            sub_kind = SubscriptionKind(kind)
            types = frozenset(_event_type(t) for t in event_types)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if not 1 <= timeout_minutes <= 1440:
            raise InvalidRequest("Timeout must be between 1 and 1440 minutes.")
        with self.lock:
            mailbox = self.mailbox(smtp)
            folders = [mailbox.calendar_folder_id] if folder_ids is None else list(folder_ids)
            for fid in folders:
                if self.mailbox_of_id(fid) != mailbox.smtp:
                    raise FolderNotFound()
                self.folder(fid)
            sub = self._subscriptions.create(
                sub_kind,
                mailbox.smtp,
                frozenset(folders),
                all_folders,
                types,
                watermark,
                timeout_minutes,
                owner_login,
            )
            return sub.subscription_id, self.journal.watermark(sub.position)

    def get_events(self, subscription_id: str, watermark: str | None = None) -> EventBatch:
        """GetEvents on a pull subscription; resets its expiry timer.

        SubscriptionNotFound for unknown ids, ExpiredSubscription once ``timeout_minutes`` passed without a
        call (or after the expire fault).
        """
        with self.lock:
            return self._subscriptions.get_events(subscription_id, watermark)

    def wait_for_events(self, subscription_ids: Sequence[str], timeout: float) -> dict[str, list[Event]]:
        """Block (real time, up to ``timeout`` seconds) until streaming subscriptions have new events; return and
        mark them delivered. Returns {} on timeout. Raises StreamingConnectionDropped when the drop fault fires
        (also if it fired between two calls), SubscriptionNotFound/ExpiredSubscription for bad ids."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                subs = [self._subscriptions.get(sid) for sid in subscription_ids]
                if any(s.drop_pending for s in subs):
                    for s in subs:
                        s.drop_pending = False
                    raise StreamingConnectionDropped()
                result = {}
                for sub in subs:
                    events = self._subscriptions.take_streaming(sub.subscription_id)
                    if events:
                        result[sub.subscription_id] = events
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {}
                self._cond.wait(remaining)

    def unsubscribe(self, subscription_id: str) -> None:
        with self._cond:
            self._subscriptions.remove(subscription_id)
            self._cond.notify_all()

    def subscription(self, subscription_id: str) -> Subscription:
        with self.lock:
            return copy.copy(self._subscriptions.get(subscription_id))

    # -- faults held by the world (request-level ones are on ``self.gate``) -------------------------------

    def set_mailbox_unavailable(
        self,
        smtp: str,
        unavailable: bool = True,
        *,
        move_in_progress: bool = False,
        seconds: float | None = None,
    ) -> None:
        """Make a mailbox answer ErrorMailboxStoreUnavailable (or ErrorMailboxMoveInProgress) for EWS, until
        cleared or, with ``seconds``, for that long on the world's clock. Control methods still work."""
        with self.lock:
            mailbox = self._mailbox(smtp)
            if unavailable:
                error = MailboxMoveInProgress if move_in_progress else MailboxUnavailable
                until = None if seconds is None else self.clock() + timedelta(seconds=seconds)
                self._unavailable[mailbox.smtp] = (error, until)
            else:
                self._unavailable.pop(mailbox.smtp, None)

    def _unavailable_fault(self, smtp: str) -> type[MailboxUnavailable] | None:
        entry = self._unavailable.get(smtp)
        if entry is None:
            return None
        error, until = entry
        if until is not None and self.clock() >= until:
            del self._unavailable[smtp]
            return None
        return error

    def unavailable_mailboxes(self) -> dict[str, str]:
        """SMTP address -> the ResponseCode it answers with, for mailboxes made unavailable."""
        with self.lock:
            found = {smtp: self._unavailable_fault(smtp) for smtp in sorted(self._unavailable)}
            return {smtp: error.response_code for smtp, error in found.items() if error is not None}

    def invalidate_sync_states(self, smtp: str) -> None:
        """Every sync state issued so far for the mailbox's folders becomes ErrorInvalidSyncStateData."""
        with self.lock:
            self._sync_generation[self._mailbox(smtp).smtp] += 1

    def expire_subscriptions(self, smtp: str | None = None) -> int:
        """Expire subscriptions (of one mailbox, or all); returns how many."""
        with self._cond:
            count = self._subscriptions.expire(None if smtp is None else _lower(smtp))
            self._cond.notify_all()
            return count

    def drop_streaming_connections(self) -> None:
        """Wake every :meth:`wait_for_events` caller with StreamingConnectionDropped."""
        with self._cond:
            for sub in self._subscriptions.all():
                if sub.kind == SubscriptionKind.STREAMING:
                    sub.drop_pending = True
            self._cond.notify_all()

    def clear_faults(self) -> None:
        """Switch off every fault (gate ones too)."""
        with self.lock:
            self.gate.clear()
            self._unavailable.clear()


def _event_type(value: EventType | str) -> EventType:
    text = str(value)
    if not text.endswith("Event"):
        text += "Event"
    return EventType(text)
