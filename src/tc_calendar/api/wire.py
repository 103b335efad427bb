"""Domain values <-> JSON: the one place that decides how an occurrence or a change looks on the wire.

Times are ISO 8601 in UTC with a ``Z`` suffix (``2026-06-28T08:00:00Z``); field names are camelCase, the
convention of TrueConf's own WebSocket and REST APIs. The shapes are specified by the JSON Schemas in
``schemas/`` and docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tc_calendar.model import (
    OCCURRENCE_FIELDS,
    Attendee,
    Change,
    ChangeKind,
    ConferenceLink,
    FieldKind,
    Occurrence,
    OccurrenceField,
    OccurrenceKey,
    Response,
    Role,
)


def time_to_wire(value: datetime) -> str:
    utc = value.astimezone(UTC)
    text = utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def time_from_wire(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without an offset is refused (ambiguous), any offset is turned into UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; use e.g. 2026-06-28T08:00:00Z")
    return value.astimezone(UTC)


def key_to_wire(key: OccurrenceKey) -> dict[str, Any]:
    return {"uid": key.uid, "recurrenceId": time_to_wire(key.recurrence_id) if key.recurrence_id else None}


def key_from_wire(uid: str, recurrence_id: str | None) -> OccurrenceKey:
    return OccurrenceKey(uid, time_from_wire(recurrence_id) if recurrence_id else None)


def person_to_wire(person: Attendee) -> dict[str, Any]:
    return {"email": person.email, "name": person.name}


def attendee_to_wire(person: Attendee) -> dict[str, Any]:
    return {"email": person.email, "name": person.name, "role": person.role.value, "response": person.response.value}


def people_of(occurrence: Occurrence) -> list[Attendee]:
    """The organizer first (role Organizer), then the attendees and resources, each address once."""
    organizer = occurrence.organizer
    if organizer is None:
        return list(occurrence.attendees)
    email = organizer.email.casefold()
    first = Attendee(organizer.email, organizer.name, Role.ORGANIZER, Response.ORGANIZER)
    return [first, *(a for a in occurrence.attendees if a.email.casefold() != email)]


def response_of(occurrence: Occurrence, user: str) -> Response:
    """``user``'s answer as the occurrence itself records it (used where the store gives no visibility row)."""
    email = user.casefold()
    if occurrence.organizer is not None and occurrence.organizer.email.casefold() == email:
        return Response.ORGANIZER
    for attendee in occurrence.attendees:
        if attendee.email.casefold() == email:
            return attendee.response
    return Response.NO_RESPONSE


def occurrence_to_wire(occurrence: Occurrence, my_response: Response | None) -> dict[str, Any]:
    """Everything the calendar view shows (seed 4.1): title, times, people and their answers, the Join link.

    Each field of :data:`~tc_calendar.model.OCCURRENCE_FIELDS` goes on the wire in its declared order, under its
    name in camelCase (``all_day`` -> ``allDay``), unless :data:`_SHOWN` shows it in a way of its own.
    """
    doc: dict[str, Any] = {"key": key_to_wire(occurrence.key)}
    for render in _RENDERERS:
        render(occurrence, my_response, doc)
    return doc


def _title(occurrence: Occurrence, _: Response | None) -> dict[str, Any]:
    return {"title": occurrence.title, "displayTitle": occurrence.display_title}


def _attendees(occurrence: Occurrence, my_response: Response | None) -> dict[str, Any]:
    """The people, organizer first, then the viewer's own answer."""
    return {
        "attendees": [attendee_to_wire(a) for a in people_of(occurrence)],
        "myResponse": my_response.value if my_response is not None else None,
    }


def _recurrence(occurrence: Occurrence, _: Response | None) -> dict[str, Any]:
    """``recurrence_summary`` and ``is_exception`` together, for an occurrence of a series."""
    recurrence = None
    if occurrence.key.recurrence_id is not None or occurrence.recurrence_summary:
        recurrence = {"summary": occurrence.recurrence_summary, "isException": occurrence.is_exception}
    return {"recurrence": recurrence}


def _conference(occurrence: Occurrence, _: Response | None) -> dict[str, Any]:
    conference = None
    if occurrence.conference is not None and not occurrence.cancelled:  # a cancelled event has no Join (seed 4.2.3)
        conference = {"id": occurrence.conference.conference_id, "url": occurrence.conference.url}
    return {"conference": conference}


def _private(occurrence: Occurrence, _: Response | None) -> dict[str, Any]:
    return {"private": occurrence.private}


def _nothing(occurrence: Occurrence, _: Response | None) -> dict[str, Any]:
    return {}


#: The fields the wire shows in a way of their own; every other field by :data:`_VALUE`.
_SHOWN: dict[str, Callable[[Occurrence, Response | None], dict[str, Any]]] = {
    "title": _title,
    "attendees": _attendees,
    "is_exception": _nothing,  # in "recurrence"
    "recurrence_summary": _recurrence,
    "conference": _conference,
    "sensitivity": _private,
}


def _same(value: Any) -> Any:
    return value


def _choice(value: StrEnum) -> str:
    return value.value


def _person_or_none(person: Attendee | None) -> dict[str, Any] | None:
    return person_to_wire(person) if person is not None else None


def _people(people: tuple[Attendee, ...]) -> list[dict[str, Any]]:
    return [attendee_to_wire(person) for person in people]


def _link(link: ConferenceLink | None) -> dict[str, Any] | None:
    return {"id": link.conference_id, "url": link.url} if link is not None else None


_VALUE: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TEXT: _same,
    FieldKind.OPTIONAL_TEXT: _same,
    FieldKind.FLAG: _same,
    FieldKind.CHOICE: _choice,
    FieldKind.TIME: time_to_wire,
    FieldKind.PERSON: _person_or_none,
    FieldKind.PEOPLE: _people,
    FieldKind.CONFERENCE: _link,
}

#: What a detail of a private meeting becomes for someone who sees only that the time is taken.
_HIDDEN: dict[FieldKind, Any] = {
    FieldKind.TEXT: "",
    FieldKind.OPTIONAL_TEXT: None,
    FieldKind.PERSON: None,
    FieldKind.PEOPLE: [],
    FieldKind.CONFERENCE: None,
}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _renderer(spec: OccurrenceField) -> Callable[[Occurrence, Response | None, dict[str, Any]], None]:
    """How one field goes into the document (worked out once per field, not per occurrence)."""
    shown = _SHOWN.get(spec.name)
    if shown is not None:
        return lambda occurrence, my_response, doc: doc.update(shown(occurrence, my_response))
    name, wire_name, value_of = spec.name, _camel(spec.name), _VALUE[spec.kind]

    def render(occurrence: Occurrence, _: Response | None, doc: dict[str, Any]) -> None:
        doc[wire_name] = value_of(getattr(occurrence, name))

    return render


_RENDERERS = tuple(_renderer(spec) for spec in OCCURRENCE_FIELDS)
_HIDDEN_DETAILS = {_camel(spec.name): _HIDDEN[spec.kind] for spec in OCCURRENCE_FIELDS if spec.detail}


PRIVATE_TITLE = "Private appointment"


def time_only(doc: dict[str, Any]) -> dict[str, Any]:
    """What someone outside a private meeting sees of it (in another person's calendar): that the time is taken.

    Identity, times, recurrence, cancellation and the calendar owner's own answer stay; title, place, text,
    people and the conference link go.
    """
    return {**doc, **_HIDDEN_DETAILS, "title": PRIVATE_TITLE, "displayTitle": PRIVATE_TITLE}


def in_full_for_view(view: str | None) -> Callable[[str], bool]:
    """Whose private meetings a viewer sees in full in their calendars, from the viewer's ``view``: ``"*"``
    everyone's (a TrueConf Server shows each user their own calendar), an address only that user's (a web user),
    ``None`` no one's (not signed in)."""
    if view == "*":
        return lambda user: True
    if view is None:
        return lambda user: False
    return lambda user: user.strip().casefold() == view


def occurrence_for(occurrence: Occurrence, my_response: Response | None, in_full: bool) -> dict[str, Any]:
    """The occurrence on the wire for a viewer: a private one in full only when ``in_full``."""
    doc = occurrence_to_wire(occurrence, my_response)
    return doc if in_full or not occurrence.private else time_only(doc)


def takes_part(occurrence: Occurrence, user: str) -> bool:
    """Whether ``user`` is the organizer, an attendee or a booked resource of ``occurrence``."""
    email = user.casefold()
    return any(person.email.casefold() == email for person in people_of(occurrence))


def change_to_wire(
    change: Change, occurrence: Occurrence | None, my_response: Response | None, *, in_full: bool = True
) -> dict[str, Any]:
    """One change-log entry; ``occurrence`` is the new state for upserts (``None`` for other kinds). With
    ``in_full`` false, a private occurrence is shown as :func:`time_only`."""
    doc: dict[str, Any] = {
        "cursor": change.cursor,
        "kind": change.kind.value,
        "user": change.user,
        "key": key_to_wire(change.key) if change.key is not None else None,
        "at": time_to_wire(change.at),
        "occurrence": None,
    }
    if change.kind is ChangeKind.UPSERT and occurrence is not None:
        doc["occurrence"] = occurrence_for(occurrence, my_response, in_full)
    if change.kind is not ChangeKind.UPSERT and change.payload:
        doc["details"] = _jsonable(change.payload)
    return doc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return time_to_wire(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
