"""Plain data of the world: accounts, mailboxes, folders and calendar items as EWS exposes them.

Every datetime here is timezone-aware and in UTC; the zone an item was scheduled in is kept by name (IANA) in
``start_time_zone``/``end_time_zone``. The protocol layer maps IANA names to Windows zone ids and back.
Objects handed out by :class:`~ews_sim.world.core.World` are snapshots: changing them changes nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from ews_sim.world.errors import InvalidRequest

if TYPE_CHECKING:
    from ews_sim.world.recurrence import Recurrence

_T = TypeVar("_T")


class ResponseType(StrEnum):
    UNKNOWN = "Unknown"
    ORGANIZER = "Organizer"
    TENTATIVE = "Tentative"
    ACCEPT = "Accept"
    DECLINE = "Decline"
    NO_RESPONSE_RECEIVED = "NoResponseReceived"


class CalendarItemType(StrEnum):
    SINGLE = "Single"
    OCCURRENCE = "Occurrence"
    EXCEPTION = "Exception"
    RECURRING_MASTER = "RecurringMaster"


class BodyType(StrEnum):
    HTML = "HTML"
    TEXT = "Text"


class LegacyFreeBusyStatus(StrEnum):
    FREE = "Free"
    TENTATIVE = "Tentative"
    BUSY = "Busy"
    OOF = "OOF"
    WORKING_ELSEWHERE = "WorkingElsewhere"
    NO_DATA = "NoData"


#: EWS Sensitivity values.
SENSITIVITIES = ("Normal", "Personal", "Private", "Confidential")


def check_sensitivity(value: str) -> str:
    """``value`` if it is an EWS Sensitivity (Normal, Personal, Private, Confidential); InvalidRequest if not."""
    if value not in SENSITIVITIES:
        raise InvalidRequest(f"Sensitivity must be one of {', '.join(SENSITIVITIES)}")
    return value


#: AppointmentState bits as Exchange sets them (MS-OXOCAL PidLidAppointmentStateFlags).
APPOINTMENT_STATE_MEETING = 1
APPOINTMENT_STATE_RECEIVED = 2
APPOINTMENT_STATE_CANCELLED = 4

#: (property set GUID, distinguished set name such as "PublicStrings", or "" for a tag;
#:  property name, or numeric id/tag; property type such as "String", "Integer", "SystemTime")
ExtendedPropertyKey = tuple[str, str | int, str]


@dataclass(slots=True)
class EmailAddress:
    """A mailbox as it appears in Organizer and Attendee elements."""

    email_address: str
    name: str = ""
    routing_type: str = "SMTP"
    mailbox_type: str = "Mailbox"


@dataclass(slots=True)
class Attendee:
    mailbox: EmailAddress
    response_type: ResponseType = ResponseType.UNKNOWN
    last_response_time: datetime | None = None


@dataclass(slots=True)
class Body:
    content: str = ""
    body_type: BodyType = BodyType.TEXT


@dataclass(slots=True)
class OccurrenceInfo:
    """An entry of FirstOccurrence/LastOccurrence/ModifiedOccurrences."""

    item_id: str
    change_key: str
    start: datetime
    end: datetime
    original_start: datetime


@dataclass(slots=True)
class DeletedOccurrenceInfo:
    start: datetime  # the original start of the deleted occurrence


@dataclass(frozen=True)
class BusySlot:
    """One entry of a free/busy view (GetUserAvailability's CalendarEvent)."""

    start: datetime
    end: datetime
    busy_type: LegacyFreeBusyStatus
    subject: str
    location: str
    is_meeting: bool
    is_recurring: bool


@dataclass
class Folder:
    folder_id: str
    change_key: str
    distinguished_id: str  # "calendar", "inbox", "deleteditems", "msgfolderroot", "root"
    display_name: str
    folder_class: str  # "IPF.Appointment" for the calendar
    parent_folder_id: str | None
    total_count: int = 0
    child_folder_count: int = 0
    unread_count: int = 0


@dataclass
class Account:
    """Credentials that can authenticate: a service account or a mailbox user who has a password."""

    login: str  # "svc-trueconf", or a user's SMTP address / UPN
    password: str
    impersonation: bool = False  # holds the ApplicationImpersonation role
    smtp: str | None = None  # the account's own mailbox, if any
    is_service: bool = False


@dataclass
class Mailbox:
    """A user's mailbox; its calendar items live in the world's store, not here."""

    smtp: str
    display_name: str
    time_zone: str = "UTC"
    folders: dict[str, Folder] = field(default_factory=dict)  # by distinguished id
    delegates: set[str] = field(default_factory=set)  # SMTP addresses with Editor rights on the calendar
    language: str = "en"  # the user's Outlook language: cancellations they send carry its subject prefix
    auto_accept: bool = False  # a resource (room) that accepts invitations itself

    @property
    def calendar_folder_id(self) -> str:
        return self.folders["calendar"].folder_id

    def address(self) -> EmailAddress:
        return EmailAddress(self.smtp, self.display_name)

    def snapshot(self) -> Mailbox:
        """A copy whose folders and delegates can change without touching this mailbox (``copy.deepcopy`` took a
        sixth of the simulator's time, ``dataclasses.replace`` a tenth: every request takes several)."""
        result = shallow_copy(self)
        result.folders = {name: shallow_copy(folder) for name, folder in self.folders.items()}
        result.delegates = set(self.delegates)
        return result


def shallow_copy(value: _T) -> _T:
    """A shallow copy of a dataclass instance with a ``__dict__`` (Account, Folder, Mailbox): several times faster than
    ``dataclasses.replace`` or ``copy.copy``, which go through ``__init__`` or ``__reduce_ex__``."""
    result = object.__new__(type(value))
    result.__dict__.update(value.__dict__)
    return result


@dataclass(slots=True)
class CalendarItem:
    """A calendar item as EWS GetItem returns it (singles, masters, occurrences and exceptions alike).

    For an occurrence or exception ``item_id`` is the occurrence's own id (it resolves back through
    :meth:`World.get_item`), ``recurring_master_id`` the master's id, ``instance_index`` its 1-based position
    in the series and ``original_start`` its RecurrenceId.
    """

    item_id: str
    change_key: str
    parent_folder_id: str
    mailbox: str  # SMTP address of the owning mailbox
    uid: str  # iCalendar UID, the same in the organizer's and the attendees' copies
    subject: str
    body: Body
    start: datetime
    end: datetime
    start_time_zone: str  # IANA name
    end_time_zone: str
    is_all_day: bool = False
    location: str = ""
    organizer: EmailAddress | None = None
    required_attendees: list[Attendee] = field(default_factory=list)
    optional_attendees: list[Attendee] = field(default_factory=list)
    resources: list[Attendee] = field(default_factory=list)
    my_response_type: ResponseType = ResponseType.ORGANIZER
    is_meeting: bool = False
    is_cancelled: bool = False
    is_organizer: bool = True
    is_response_requested: bool = True
    calendar_item_type: CalendarItemType = CalendarItemType.SINGLE
    recurrence: Recurrence | None = None
    recurring_master_id: str | None = None
    instance_index: int | None = None
    original_start: datetime | None = None
    first_occurrence: OccurrenceInfo | None = None
    last_occurrence: OccurrenceInfo | None = None
    modified_occurrences: list[OccurrenceInfo] = field(default_factory=list)
    deleted_occurrences: list[DeletedOccurrenceInfo] = field(default_factory=list)
    appointment_sequence_number: int = 0
    appointment_state: int = 0
    legacy_free_busy_status: LegacyFreeBusyStatus = LegacyFreeBusyStatus.BUSY
    date_time_created: datetime | None = None
    last_modified_time: datetime | None = None
    date_time_stamp: datetime | None = None
    sensitivity: str = "Normal"
    importance: str = "Normal"
    categories: list[str] = field(default_factory=list)
    reminder_is_set: bool = True
    reminder_minutes_before_start: int = 15
    item_class: str = "IPM.Appointment"
    extended_properties: dict[ExtendedPropertyKey, Any] = field(default_factory=dict)
    appointment_reply_time: datetime | None = None  # when this attendee last answered
    meeting_request_was_sent: bool = False  # organizer's item: invitations went out
    allow_new_time_proposal: bool = True
    is_online_meeting: bool = False

    @property
    def display_to(self) -> str:
        """Exchange's DisplayTo: the required attendees' names joined by "; "."""
        return "; ".join(a.mailbox.name or a.mailbox.email_address for a in self.required_attendees)

    @property
    def display_cc(self) -> str:
        """Exchange's DisplayCc: the optional attendees' names joined by "; "."""
        return "; ".join(a.mailbox.name or a.mailbox.email_address for a in self.optional_attendees)

    @property
    def is_recurring(self) -> bool:
        return self.calendar_item_type != CalendarItemType.SINGLE

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def clone(value: Any) -> Any:
    """A deep copy of world values, much faster than ``copy.deepcopy`` for what items hold.

    Datetimes, enums, strings and frozen recurrences are immutable and shared; containers, bodies, addresses,
    attendees and items are copied (dispatch on the exact type: subclasses are not expected here).
    """
    cloner = _CLONERS.get(type(value))
    return value if cloner is None else cloner(value)


def _clone_item(value: CalendarItem) -> CalendarItem:
    # Every field passed to the constructor at once: ``copy.copy`` of a slots class goes through
    # ``__reduce_ex__`` and costs several times as much (every item a request reads is cloned).
    item = CalendarItem(*_item_values(value))
    for name in _MUTABLE_ITEM_FIELDS:
        setattr(item, name, clone(getattr(value, name)))
    return item


def _clone_attendee(value: Attendee) -> Attendee:
    address = value.mailbox
    return Attendee(
        EmailAddress(address.email_address, address.name, address.routing_type, address.mailbox_type),
        value.response_type,
        value.last_response_time,
    )


_CLONERS: dict[type, Callable[[Any], Any]] = {
    list: lambda v: [clone(x) for x in v],
    dict: lambda v: {k: clone(x) for k, x in v.items()},
    Attendee: _clone_attendee,
    EmailAddress: lambda v: EmailAddress(v.email_address, v.name, v.routing_type, v.mailbox_type),
    Body: lambda v: Body(v.content, v.body_type),
    OccurrenceInfo: lambda v: OccurrenceInfo(v.item_id, v.change_key, v.start, v.end, v.original_start),
    DeletedOccurrenceInfo: lambda v: DeletedOccurrenceInfo(v.start),
    CalendarItem: _clone_item,
}

_MUTABLE_ITEM_FIELDS = (
    "body",
    "organizer",
    "required_attendees",
    "optional_attendees",
    "resources",
    "first_occurrence",
    "last_occurrence",
    "modified_occurrences",
    "deleted_occurrences",
    "categories",
    "extended_properties",
)

#: Every field of CalendarItem in constructor order, read in one call.
_item_values = operator.attrgetter(*(f.name for f in fields(CalendarItem)))
