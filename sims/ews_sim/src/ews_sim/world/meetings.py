"""Meeting semantics: what an attendee's copy of a meeting looks like after invitations, updates, responses
and cancellations, as Exchange's calendar processing leaves it.

Rules kept here (the World applies them to every mailbox concerned):

* The organizer's item has MyResponseType ``Organizer``; its attendees start ``Unknown`` and record each
  response with its time.
* An invited attendee's copy has the same UID, IsOrganizer false, MyResponseType ``NoResponseReceived`` and is
  shown Tentative for free/busy until answered.
* A declined meeting is removed from the attendee's calendar (Exchange's default for Decline); a declined
  occurrence becomes a deleted occurrence of the attendee's series.
* A change of time (start, end, all-day flag or recurrence) asks every attendee to respond again: responses
  reset, and attendees who had declined get the meeting back. Other changes keep responses and do not bring
  declined meetings back.
* Removed attendees and every attendee on cancellation keep a cancelled copy: IsCancelled, subject prefixed
  ``"Canceled: "``, shown Free, until they delete it.
"""

from __future__ import annotations

import copy
import secrets
from datetime import datetime
from typing import Any

from ews_sim.world.model import (
    APPOINTMENT_STATE_CANCELLED,
    APPOINTMENT_STATE_MEETING,
    APPOINTMENT_STATE_RECEIVED,
    Attendee,
    CalendarItem,
    LegacyFreeBusyStatus,
    ResponseType,
    clone,
)
from ews_sim.world.store import Record

CANCELED_PREFIX = "Canceled: "

#: The subject prefix of a cancellation, by the organizer's Outlook language (Exchange keeps the subject the
#: organizer's client wrote).
CANCELED_PREFIXES = {
    "en": CANCELED_PREFIX,
    "de": "Abgesagt: ",
    "ru": "Отменено: ",
    "fr": "Annulé : ",
    "es": "Cancelado: ",
}


def canceled_prefix(language: str) -> str:
    """The prefix for a language tag such as "de" or "ru-RU" (English for languages not listed)."""
    return CANCELED_PREFIXES.get(language.lower().split("-")[0], CANCELED_PREFIX)


#: Outlook's Global Object ID prefix; a UID made by Outlook starts with it.
_OUTLOOK_UID_PREFIX = "040000008200E00074C5B7101A82E008"

#: Properties of the organizer's item an attendee copy mirrors.
SHARED_FIELDS = (
    "subject",
    "allow_new_time_proposal",
    "is_online_meeting",
    "body",
    "start",
    "end",
    "start_time_zone",
    "end_time_zone",
    "is_all_day",
    "location",
    "organizer",
    "required_attendees",
    "optional_attendees",
    "resources",
    "recurrence",
    "appointment_sequence_number",
    "date_time_stamp",
    "is_response_requested",
    "sensitivity",
    "importance",
    "extended_properties",
)

#: Exception overrides that belong to one attendee rather than to the meeting.
_PERSONAL_OVERRIDES = ("my_response_type", "legacy_free_busy_status")

RESPONSES = (ResponseType.ACCEPT, ResponseType.TENTATIVE, ResponseType.DECLINE)


def new_uid() -> str:
    """A UID shaped like Outlook's Global Object ID in hex."""
    return _OUTLOOK_UID_PREFIX + "00000000" + secrets.token_hex(28).upper()


def free_busy_for(response: ResponseType) -> LegacyFreeBusyStatus:
    if response == ResponseType.DECLINE:
        return LegacyFreeBusyStatus.FREE
    if response in (ResponseType.ACCEPT, ResponseType.ORGANIZER):
        return LegacyFreeBusyStatus.BUSY
    return LegacyFreeBusyStatus.TENTATIVE


def all_attendees(item: CalendarItem) -> list[Attendee]:
    return [*item.required_attendees, *item.optional_attendees, *item.resources]


def attendee_smtps(item: CalendarItem) -> list[str]:
    seen: list[str] = []
    for attendee in all_attendees(item):
        smtp = attendee.mailbox.email_address.lower()
        if smtp not in seen:
            seen.append(smtp)
    return seen


def find_attendee(item: CalendarItem, smtp: str) -> Attendee | None:
    smtp = smtp.lower()
    return next((a for a in all_attendees(item) if a.mailbox.email_address.lower() == smtp), None)


def reset_responses(item: CalendarItem) -> None:
    """The organizer's tracking after a time change: nobody has answered the new time yet."""
    for attendee in all_attendees(item):
        attendee.response_type = ResponseType.UNKNOWN
        attendee.last_response_time = None


def record_response(attendees: list[Attendee], smtp: str, response: ResponseType, when: datetime) -> bool:
    """Set one attendee's ResponseType/LastResponseTime in a list; False if not listed."""
    for attendee in attendees:
        if attendee.mailbox.email_address.lower() == smtp.lower():
            attendee.response_type = response
            attendee.last_response_time = when
            return True
    return False


def make_attendee_copy(organizer_item: CalendarItem, template: CalendarItem) -> CalendarItem:
    """The attendee's new calendar item for an invitation: ``template`` carries the attendee's identity fields
    (ids, mailbox, folder, creation time), the rest mirrors the organizer's item."""
    item = copy.copy(template)  # a fresh template: its own containers need no copy
    for name in SHARED_FIELDS:
        setattr(item, name, clone(getattr(organizer_item, name)))
    item.uid = organizer_item.uid
    item.is_meeting = True
    item.is_organizer = False
    item.is_cancelled = False
    item.my_response_type = ResponseType.NO_RESPONSE_RECEIVED
    item.legacy_free_busy_status = LegacyFreeBusyStatus.TENTATIVE
    item.appointment_state = APPOINTMENT_STATE_MEETING | APPOINTMENT_STATE_RECEIVED
    item.calendar_item_type = organizer_item.calendar_item_type
    item.meeting_request_was_sent = False
    item.appointment_reply_time = None
    return item


def sync_copy(attendee: Record, organizer: Record, *, reset_response: bool) -> None:
    """Bring an attendee's copy in line with the organizer's item (a meeting update was processed).

    Meeting-wide exception overrides come from the organizer; the attendee's own per-occurrence answers and
    declined occurrences survive unless ``reset_response``.
    """
    item = attendee.item
    for name in SHARED_FIELDS:
        setattr(item, name, clone(getattr(organizer.item, name)))
    item.calendar_item_type = organizer.item.calendar_item_type
    item.is_cancelled = False
    item.appointment_state = APPOINTMENT_STATE_MEETING | APPOINTMENT_STATE_RECEIVED
    if reset_response:
        item.my_response_type = ResponseType.NO_RESPONSE_RECEIVED
        item.legacy_free_busy_status = LegacyFreeBusyStatus.TENTATIVE
        item.appointment_reply_time = None
    exceptions: dict[datetime, dict[str, Any]] = {}
    for start, overrides in organizer.exceptions.items():
        shared = {k: clone(v) for k, v in overrides.items() if k not in _PERSONAL_OVERRIDES}
        exceptions[start] = shared
    if not reset_response:
        for start, overrides in attendee.exceptions.items():
            personal = {k: v for k, v in overrides.items() if k in _PERSONAL_OVERRIDES}
            if personal:
                exceptions.setdefault(start, {}).update(personal)
        own_declines = attendee.deleted - organizer.deleted
        attendee.deleted = set(organizer.deleted) | own_declines
    else:
        attendee.deleted = set(organizer.deleted)
    attendee.exceptions = exceptions


def cancel_copy(item: CalendarItem, prefix: str = CANCELED_PREFIX) -> None:
    """What a cancellation does to an attendee's copy."""
    item.is_cancelled = True
    if not item.subject.startswith(prefix):
        item.subject = prefix + item.subject
    item.appointment_state |= APPOINTMENT_STATE_CANCELLED
    item.legacy_free_busy_status = LegacyFreeBusyStatus.FREE
