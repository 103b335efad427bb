"""Meetings as Outlook users schedule them: every mailbox concerned changes as Exchange's calendar processing
would leave it (the rules for attendee copies are in meetings.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ews_sim.world import meetings as rules
from ews_sim.world.base import TIME_FIELDS, AttendeeSpec, WorldBase, smtp_key
from ews_sim.world.errors import (
    AccessDenied,
    InvalidIdMalformed,
    InvalidRequest,
    ItemNotFound,
    OccurrenceDeleted,
)
from ews_sim.world.model import (
    APPOINTMENT_STATE_MEETING,
    Body,
    BodyType,
    CalendarItem,
    LegacyFreeBusyStatus,
    ResponseType,
    check_sensitivity,
    clone,
)
from ews_sim.world.recurrence import Recurrence
from ews_sim.world.store import (
    Record,
    occurrence_view,
    view,
)

#: How far ahead a room checks a series for conflicts (Exchange's BookingWindowInDays default).
ROOM_BOOKING_WINDOW_DAYS = 180

_MEETING_CHANGES = frozenset(
    {"subject", "body", "body_type", "location", "required", "optional", "resources", *TIME_FIELDS}
)


class Scheduling(WorldBase):
    """Invitations, responses, updates, occurrence changes and cancellations."""

    def _organizer_record(self, organizer: str, uid: str, as_delegate: str | None = None) -> Record:
        mailbox = self._mailbox(organizer)
        if as_delegate is not None and smtp_key(as_delegate) not in mailbox.delegates:
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

    def _auto_accept(self, organizer: Record) -> None:
        """Resource mailboxes (rooms) process requests themselves, as Exchange's AutomateProcessing=AutoAccept
        with its defaults: whatever they have not answered yet (the series, or a rescheduled occurrence) they
        accept, unless it overlaps a booking they hold (AllowConflicts false: any conflicting occurrence in the
        booking window declines the whole series)."""
        uid = organizer.item.uid
        for smtp in rules.attendee_smtps(organizer.item):
            mailbox = self._mailboxes.get(smtp)
            copy_record = self._by_uid(smtp, uid) if mailbox is not None and mailbox.auto_accept else None
            if copy_record is None or copy_record.item.is_organizer or copy_record.item.is_cancelled:
                continue
            if copy_record.item.my_response_type == ResponseType.NO_RESPONSE_RECEIVED:
                answer = ResponseType.DECLINE if self._room_conflict(copy_record, None) else ResponseType.ACCEPT
                self.respond(smtp, uid, answer)
                if answer == ResponseType.DECLINE:
                    continue
            for start, overrides in list(copy_record.exceptions.items()):
                if overrides.get("my_response_type") == ResponseType.NO_RESPONSE_RECEIVED:
                    conflict = self._room_conflict(copy_record, start)
                    self.respond(smtp, uid, ResponseType.DECLINE if conflict else ResponseType.ACCEPT, occurrence=start)

    def _room_conflict(self, booking: Record, original_start: datetime | None) -> bool:
        """Whether a room's copy (or one of its occurrences) overlaps another booking the room holds."""
        if booking.is_master and original_start is None:
            horizon = self._now() + timedelta(days=ROOM_BOOKING_WINDOW_DAYS)
            spans = [
                (o.start, o.end)
                for o in (
                    occurrence_view(booking, occ)
                    for occ in booking.occurrences(None, horizon)
                    if occ.start not in booking.deleted
                )
            ]
        elif original_start is not None:
            occ = booking.occurrence_by_start(original_start)
            spans = [] if occ is None else [(v.start, v.end) for v in [occurrence_view(booking, occ)]]
        else:
            spans = [(booking.item.start, booking.item.end)]
        for start, end in spans:
            for other in self._calendar_view(booking.mailbox, start, end):
                busy = other.legacy_free_busy_status in (LegacyFreeBusyStatus.BUSY, LegacyFreeBusyStatus.OOF)
                if other.uid != booking.item.uid and busy and not other.is_cancelled and other.start < end:
                    return True
        return False

    def _attendee_copies(self, organizer: Record) -> list[Record]:
        copies = []
        for smtp in rules.attendee_smtps(organizer.item):
            found = self._by_uid(smtp, organizer.item.uid)
            if found is not None and not found.item.is_organizer and not found.item.is_cancelled:
                copies.append(found)
        return copies

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
        sensitivity: str = "Normal",
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
                if smtp_key(as_delegate) not in mailbox.delegates:
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
            item.sensitivity = check_sensitivity(sensitivity)
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
            self._auto_accept(record)
            return view(record)

    def respond(
        self,
        attendee: str,
        uid_or_item_id: str,
        response: ResponseType | str,
        *,
        occurrence: datetime | int | None = None,
        keep_in_calendar: bool = False,
    ) -> CalendarItem | None:
        """Accept, Tentative or Decline (the whole series, or one occurrence by original start or index).

        The attendee's MyResponseType changes and the organizer's copy records the attendee's ResponseType and
        LastResponseTime. As in Exchange's default, a declined meeting is removed from the attendee's calendar
        (moved to Deleted Items; a declined occurrence becomes a deleted occurrence there), unless
        ``keep_in_calendar`` (a client that keeps declined meetings, shown Free). Returns the attendee's item
        (None if gone).
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
                if answer == ResponseType.DECLINE and not keep_in_calendar:
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
            if answer == ResponseType.DECLINE and not keep_in_calendar:
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
            item.date_time_stamp = self._now()  # the iCalendar DTSTAMP of the update sent
            self._modified(record)
            after = rules.attendee_smtps(item)
            for smtp in sorted(before - set(after)):
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
            self._auto_accept(record)
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
            self._auto_accept(record)
            return occurrence_view(record, occ)

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
