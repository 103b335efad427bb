"""Domain types shared by the sync core, the store, the API and the launcher.

They are plain, immutable values with no knowledge of Exchange, SQL or JSON, so every layer can be tested
with them alone. Times are timezone-aware and normalised to UTC; an all-day event keeps its local dates in
``start``/``end`` at midnight UTC of those dates (Exchange's own convention is midnight in the organizer's zone,
which the provider adapter converts).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """How a person takes part in a meeting (seed 4.1: Organizer, Required, Optional), or a room or other
    resource booked for it (EWS Resources): shown, never invited to the conference."""

    ORGANIZER = "Organizer"
    REQUIRED = "Required"
    OPTIONAL = "Optional"
    RESOURCE = "Resource"


class Response(StrEnum):
    """A person's answer to an invitation, as shown to users (seed 4.1)."""

    ACCEPTED = "Accepted"
    TENTATIVE = "Tentative"
    DECLINED = "Declined"
    NO_RESPONSE = "NoResponse"
    ORGANIZER = "Organizer"

    @property
    def label(self) -> str:
        """The wording the TrueConf client uses ("No response" with a space)."""
        return "No response" if self is Response.NO_RESPONSE else self.value


class Sensitivity(StrEnum):
    """Who may see an event's details (Exchange's Sensitivity). ``Private``: only its organizer and attendees, in
    their own calendars; anyone else sees that the time is taken."""

    NORMAL = "Normal"
    PERSONAL = "Personal"
    PRIVATE = "Private"
    CONFIDENTIAL = "Confidential"


@dataclass(frozen=True, slots=True)
class Attendee:
    """One participant of an occurrence; ``email`` is lower-case and is the identity."""

    email: str
    name: str
    role: Role
    response: Response = Response.NO_RESPONSE
    response_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConferenceLink:
    """A TrueConf conference that an event points to, found by the link rules."""

    conference_id: str
    url: str
    server: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class OccurrenceKey:
    """Identity of one occurrence across every mailbox that holds a copy of it.

    ``recurrence_id`` is the original (unmodified) start of an occurrence of a series, in UTC; it is ``None``
    for a single, non-recurring event. The iCalendar UID is the same in the organizer's and attendees' copies.
    """

    uid: str
    recurrence_id: datetime | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """What a user sees for one occurrence: everything the calendar view and the launcher need."""

    key: OccurrenceKey
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    location: str = ""
    description: str = ""
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    cancelled: bool = False
    conference: ConferenceLink | None = None
    recurrence_summary: str | None = None
    is_exception: bool = False
    sensitivity: Sensitivity = Sensitivity.NORMAL

    @property
    def private(self) -> bool:
        """Shown in full only to its organizer and attendees, in their own calendars."""
        return self.sensitivity is Sensitivity.PRIVATE

    @property
    def display_title(self) -> str:
        """Seed 4.2.3: a cancelled event is shown as ``Canceled: <title>``, never twice prefixed."""
        if self.cancelled and not self.title.startswith("Canceled: "):
            return f"Canceled: {self.title}"
        return self.title


class FieldKind(StrEnum):
    """What kind of value an :class:`Occurrence` field holds, which decides how each layer writes it."""

    TEXT = "text"  # str
    OPTIONAL_TEXT = "optional text"  # str | None
    FLAG = "flag"  # bool
    TIME = "time"  # datetime, timezone-aware
    PERSON = "person"  # Attendee | None
    PEOPLE = "people"  # tuple[Attendee, ...]
    CONFERENCE = "conference"  # ConferenceLink | None
    CHOICE = "choice"  # a member of OccurrenceField.choices


@dataclass(frozen=True, slots=True)
class OccurrenceField:
    """One field of :class:`Occurrence`, declared once in :data:`OCCURRENCE_FIELDS`.

    The content hash (``sync/content_hash.py``), the kept copies (``store/_copies.py``), the store's rows
    (``store/tables.py``, ``store/_rows.py``) and the wire (``api/wire.py``) are all derived from that tuple, so a
    new field needs its declaration here, a migration adding its column(s), and the page that shows it.
    """

    name: str
    kind: FieldKind
    #: The ``occurrences`` column, or the prefix of its columns (``organizer_email``, ...); empty: ``name``.
    column: str = ""
    #: The enumeration of a ``CHOICE`` field.
    choices: type[StrEnum] | None = None
    #: A detail of the meeting, hidden from someone who sees a private meeting only as a busy time.
    detail: bool = False
    #: False for a field added after content hashes were stored: it enters the hash only when it differs from its
    #: default, so the stored hashes of every other occurrence stay valid and an upgrade rewrites nothing.
    hashed_when_default: bool = True

    @property
    def column_name(self) -> str:
        return self.column or self.name

    @property
    def default(self) -> Any:
        """The field's default in :class:`Occurrence` (``dataclasses.MISSING`` for a required field)."""
        return _DEFAULTS[self.name]


#: Every field of :class:`Occurrence` but its key, in the order the wire shows them.
OCCURRENCE_FIELDS: tuple[OccurrenceField, ...] = (
    OccurrenceField("title", FieldKind.TEXT, detail=True),
    OccurrenceField("start", FieldKind.TIME, column="start_at"),
    OccurrenceField("end", FieldKind.TIME, column="end_at"),
    OccurrenceField("all_day", FieldKind.FLAG),
    OccurrenceField("location", FieldKind.TEXT, detail=True),
    OccurrenceField("description", FieldKind.TEXT, detail=True),
    OccurrenceField("organizer", FieldKind.PERSON, detail=True),
    OccurrenceField("attendees", FieldKind.PEOPLE, detail=True),
    OccurrenceField("cancelled", FieldKind.FLAG),
    OccurrenceField("is_exception", FieldKind.FLAG),
    OccurrenceField("recurrence_summary", FieldKind.OPTIONAL_TEXT),
    OccurrenceField("conference", FieldKind.CONFERENCE, detail=True),
    OccurrenceField("sensitivity", FieldKind.CHOICE, choices=Sensitivity, hashed_when_default=False),
)

_DEFAULTS: dict[str, Any] = {spec.name: spec.default for spec in fields(Occurrence)}


@dataclass(frozen=True, slots=True)
class Visibility:
    """That an occurrence is shown in a user's calendar (organizer or attendee, seed 4.1), and their answer."""

    user: str
    key: OccurrenceKey
    my_response: Response


class ChangeKind(StrEnum):
    """What a change-log entry tells clients."""

    UPSERT = "upsert"
    DELETE = "delete"
    CONFERENCE_STARTED = "conference_started"
    CONFERENCE_FAILED = "conference_failed"


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log; ``cursor`` is strictly increasing and is what clients resume from."""

    cursor: int
    kind: ChangeKind
    user: str
    key: OccurrenceKey | None
    at: datetime
    payload: dict[str, object] = field(default_factory=dict)
