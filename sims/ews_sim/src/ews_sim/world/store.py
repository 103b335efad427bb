"""How calendar items are stored, and the snapshots (views) EWS operations see.

A :class:`Record` holds one single item or recurring master. Exceptions are kept as per-occurrence overrides
(only the properties that differ), so an unmodified property of an exception follows later edits of its master
as it does in Exchange. Occurrence and exception views are built on demand from the master.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ews_sim.world import ids
from ews_sim.world.errors import CalendarDurationIsTooLong, CalendarEndDateIsEarlierThanStartDate, InvalidRequest
from ews_sim.world.model import CalendarItem, CalendarItemType, DeletedOccurrenceInfo, OccurrenceInfo, clone
from ews_sim.world.recurrence import (
    NoEndRecurrence,
    Occurrence,
    Recurrence,
    expand,
    local_dates,
    to_local,
    to_utc,
    zone,
)

#: Properties an exception may override.
EXCEPTION_FIELDS = frozenset(
    {
        "subject",
        "body",
        "location",
        "start",
        "end",
        "my_response_type",
        "required_attendees",
        "optional_attendees",
        "resources",
        "legacy_free_busy_status",
        "is_cancelled",
        "last_modified_time",
        "appointment_sequence_number",
    }
)


@dataclass(slots=True)
class Record:
    key: bytes
    mailbox: str
    item: CalendarItem
    version: int = 1
    exceptions: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    deleted: set[datetime] = field(default_factory=set)

    @property
    def is_master(self) -> bool:
        return self.item.recurrence is not None

    def local_start(self) -> datetime:
        return to_local(self.item.start, self.item.start_time_zone)

    def wall_duration(self) -> timedelta:
        """Duration in the series' wall-clock time, so all-day occurrences end at local midnight."""
        return to_local(self.item.end, self.item.start_time_zone) - self.local_start()

    def occurrences(self, window_start: datetime | None = None, window_end: datetime | None = None) -> list[Occurrence]:
        assert self.item.recurrence is not None
        return expand(
            self.item.recurrence,
            self.local_start(),
            self.wall_duration(),
            self.item.start_time_zone,
            window_start,
            window_end,
        )

    def iter_occurrences(self) -> Iterator[Occurrence]:
        """Every occurrence of the series, lazily (no-end series stop at the expansion horizon)."""
        assert self.item.recurrence is not None
        local = self.local_start()
        duration = self.wall_duration()
        tz = self.item.start_time_zone
        for index, day in enumerate(local_dates(self.item.recurrence), start=1):
            start_local = datetime.combine(day, local.time())
            yield Occurrence(index, to_utc(start_local, tz), to_utc(start_local + duration, tz))

    def occurrence_by_start(self, original_start: datetime) -> Occurrence | None:
        for occ in self.iter_occurrences():
            if occ.start == original_start:
                return occ
            if occ.start > original_start:
                return None
        return None

    def occurrence_by_index(self, index: int) -> Occurrence | None:
        if index < 1:
            return None
        for occ in self.iter_occurrences():
            if occ.index == index:
                return occ
        return None

    def item_id(self) -> str:
        return ids.item_id(self.mailbox, self.key)

    def touch(self, now: datetime) -> None:
        """Record a modification: new ChangeKey and LastModifiedTime."""
        self.version += 1
        self.item.change_key = ids.change_key(self.key, self.version)
        self.item.last_modified_time = now


def occurrence_key(record: Record, original_start: datetime) -> bytes:
    return record.key + int(original_start.timestamp()).to_bytes(8, "big", signed=True)


def view(record: Record) -> CalendarItem:
    """The snapshot of a single or master, with the master's computed occurrence lists filled in."""
    item: CalendarItem = clone(record.item)
    if record.is_master:
        modified = [occurrence_view(record, occ) for occ in _exception_occurrences(record)]
        item.modified_occurrences = [_info(v) for v in sorted(modified, key=lambda v: v.original_start or v.start)]
        item.deleted_occurrences = [DeletedOccurrenceInfo(start) for start in sorted(record.deleted)]
        first = next((o for o in record.iter_occurrences() if o.start not in record.deleted), None)
        item.first_occurrence = _info(occurrence_view(record, first)) if first else None
        item.last_occurrence = None
        if item.recurrence is not None and not _is_no_end(item.recurrence):
            last = None
            for occ in record.iter_occurrences():
                if occ.start not in record.deleted:
                    last = occ
            item.last_occurrence = _info(occurrence_view(record, last)) if last else None
    return item


def _is_no_end(recurrence: Recurrence) -> bool:
    return isinstance(recurrence.range, NoEndRecurrence)


def _exception_occurrences(record: Record) -> list[Occurrence]:
    if not record.exceptions:
        return []
    last = max(record.exceptions)
    result = []
    for occ in record.iter_occurrences():
        if occ.start > last:
            break
        if occ.start in record.exceptions and occ.start not in record.deleted:
            result.append(occ)
    return result


def _info(item: CalendarItem) -> OccurrenceInfo:
    assert item.original_start is not None
    return OccurrenceInfo(item.item_id, item.change_key, item.start, item.end, item.original_start)


def occurrence_view(record: Record, occ: Occurrence) -> CalendarItem:
    """An occurrence of a master, or its exception with the overrides applied."""
    item: CalendarItem = clone(record.item)
    overrides = record.exceptions.get(occ.start)
    item.item_id = ids.item_id(record.mailbox, record.key, occ.start)
    item.change_key = ids.change_key(occurrence_key(record, occ.start), record.version)
    item.calendar_item_type = CalendarItemType.EXCEPTION if overrides is not None else CalendarItemType.OCCURRENCE
    item.recurrence = None
    item.recurring_master_id = record.item_id()
    item.instance_index = occ.index
    item.original_start = occ.start
    item.start, item.end = occ.start, occ.end
    for name, value in (overrides or {}).items():
        setattr(item, name, clone(value))
    return item


def overlaps(item: CalendarItem, start: datetime, end: datetime) -> bool:
    """CalendarView overlap: [item.start, item.end) meets [start, end); zero-length items count at their start."""
    if item.start == item.end:
        return start <= item.start < end
    return item.start < end and item.end > start


def instant(value: datetime, time_zone: str) -> datetime:
    """An aware UTC datetime; naive values are wall time in ``time_zone``."""
    if value.tzinfo is None:
        return to_utc(value, time_zone)
    return value.astimezone(UTC)


def normalise_times(
    start: datetime, end: datetime, time_zone: str, all_day: bool, recurrence: Recurrence | None
) -> tuple[datetime, datetime]:
    """UTC start and end as Exchange stores them.

    All-day items snap to local midnights (at least one day long). For a series the item's start moves to its
    first occurrence, keeping the time of day, as Exchange does when the start date does not match the pattern.
    """
    zone(time_zone)  # validates the name
    start_utc, end_utc = instant(start, time_zone), instant(end, time_zone)
    if end_utc < start_utc:
        raise CalendarEndDateIsEarlierThanStartDate()
    local_start, local_end = to_local(start_utc, time_zone), to_local(end_utc, time_zone)
    if all_day:
        day_start = datetime.combine(local_start.date(), time())
        day_end = datetime.combine(local_end.date(), time())
        if local_end.time() != time() or day_end <= day_start:
            day_end += timedelta(days=1)
        local_start, local_end = day_start, day_end
    if recurrence is not None:
        first = next(iter(local_dates(recurrence)), None)
        if first is None:
            raise InvalidRequest("The recurrence has no occurrences.")
        duration = local_end - local_start
        days = list(itertools.islice(local_dates(recurrence), 60))
        gaps = [timedelta(days=(b - a).days) for a, b in itertools.pairwise(days)]
        if gaps and duration > min(gaps):
            raise CalendarDurationIsTooLong()
        local_start = datetime.combine(first, local_start.time())
        local_end = local_start + duration
    return to_utc(local_start, time_zone), to_utc(local_end, time_zone)
