"""Reading calendars as EWS operations do, and single-calendar edits that notify nobody."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ews_sim.world.base import TIME_FIELDS, WorldBase
from ews_sim.world.errors import (
    InvalidRequest,
    ItemCorrupt,
    ItemNotFound,
    NotRecurringMaster,
    OccurrenceDeleted,
    OccurrenceIndexOutOfRange,
)
from ews_sim.world.model import (
    BodyType,
    BusySlot,
    CalendarItem,
    LegacyFreeBusyStatus,
    check_sensitivity,
    clone,
)
from ews_sim.world.recurrence import Recurrence
from ews_sim.world.store import (
    occurrence_view,
    view,
)

_ITEM_CHANGES = frozenset(
    {
        "subject",
        "body",
        "body_type",
        "location",
        *TIME_FIELDS,
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


class Calendars(WorldBase):
    """CalendarView, FindItem, GetItem (with occurrence ids), appointments and raw edits."""

    def calendar_view(self, smtp: str, start: datetime, end: datetime) -> list[CalendarItem]:
        """FindItem with a CalendarView: singles overlapping [start, end) and occurrences/exceptions of masters
        (never masters), sorted by (start, end, item_id) so that paging is stable."""
        with self.lock:
            return self._calendar_view(self._available(smtp).smtp, start, end)

    def availability(self, smtp: str, start: datetime, end: datetime) -> list[BusySlot]:
        """GetUserAvailability's CalendarEventArray: what the mailbox's calendar shows as not free in
        [start, end), one slot per item or occurrence (declined-but-kept and cancelled items are Free: omitted)."""
        with self.lock:
            items = self._calendar_view(self._available(smtp).smtp, start, end)
            return [
                BusySlot(i.start, i.end, i.legacy_free_busy_status, i.subject, i.location, i.is_meeting, i.is_recurring)
                for i in items
                if i.legacy_free_busy_status not in (LegacyFreeBusyStatus.FREE, LegacyFreeBusyStatus.NO_DATA)
                and not i.is_cancelled
            ]

    def find_items(self, smtp: str) -> list[CalendarItem]:
        """FindItem without a view: singles and recurring masters, sorted by (start, item_id)."""
        with self.lock:
            mailbox = self._available(smtp)
            items = [view(r) for r in self._records[mailbox.smtp].values()]
            return sorted(items, key=lambda i: (i.start, i.item_id))

    def get_item(self, item_id: str, smtp: str | None = None) -> CalendarItem:
        """A single, a master, an occurrence or an exception by its ItemId. With ``smtp``, the id must belong to
        that mailbox (ItemNotFound otherwise). InvalidIdMalformed for ids that are not ours, ItemCorrupt for items
        damaged by :meth:`set_item_corrupt`."""
        with self.lock:
            record, original_start = self._resolve(item_id, smtp)
            self._available(record.mailbox)
            if record.key in self._corrupt:
                raise ItemCorrupt()
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
            self._available(record.mailbox)
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
            self._available(record.mailbox)
            if not record.is_master:
                raise NotRecurringMaster()
            return view(record)

    def items_by_uid(self, uid: str) -> list[CalendarItem]:
        """Every mailbox's copy of a meeting (organizer's and attendees'), singles/masters only."""
        with self.lock:
            found = [self._records[smtp][key] for (smtp, u), key in self._uid_index.items() if u == uid]
            return [view(r) for r in sorted(found, key=lambda r: (not r.item.is_organizer, r.mailbox))]

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
        sensitivity: str = "Normal",
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
            item.sensitivity = check_sensitivity(sensitivity)
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
            for name in _ITEM_CHANGES - set(TIME_FIELDS) - {"subject", "body", "body_type", "location"}:
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
