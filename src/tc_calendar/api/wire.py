"""Domain values <-> JSON: the one place that decides how an occurrence or a change looks on the wire.

Times are ISO 8601 in UTC with a ``Z`` suffix (``2026-06-28T08:00:00Z``); field names are camelCase, the
convention of TrueConf's own WebSocket and REST APIs. The shapes are specified by the JSON Schemas in
``schemas/`` and docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tc_calendar.model import Attendee, Change, ChangeKind, Occurrence, OccurrenceKey, Response, Role


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
    """Everything the calendar view shows (seed 4.1): title, times, people and their answers, the Join link."""
    recurrence = None
    if occurrence.key.recurrence_id is not None or occurrence.recurrence_summary:
        recurrence = {"summary": occurrence.recurrence_summary, "isException": occurrence.is_exception}
    conference = None
    if occurrence.conference is not None and not occurrence.cancelled:  # a cancelled event has no Join (seed 4.2.3)
        conference = {"id": occurrence.conference.conference_id, "url": occurrence.conference.url}
    return {
        "key": key_to_wire(occurrence.key),
        "title": occurrence.title,
        "displayTitle": occurrence.display_title,
        "start": time_to_wire(occurrence.start),
        "end": time_to_wire(occurrence.end),
        "allDay": occurrence.all_day,
        "location": occurrence.location,
        "description": occurrence.description,
        "organizer": person_to_wire(occurrence.organizer) if occurrence.organizer else None,
        "attendees": [attendee_to_wire(a) for a in people_of(occurrence)],
        "myResponse": my_response.value if my_response is not None else None,
        "cancelled": occurrence.cancelled,
        "recurrence": recurrence,
        "conference": conference,
        "private": occurrence.private,
    }


PRIVATE_TITLE = "Private appointment"


def time_only(doc: dict[str, Any]) -> dict[str, Any]:
    """What someone outside a private meeting sees of it (in another person's calendar): that the time is taken.

    Identity, times, recurrence, cancellation and the calendar owner's own answer stay; title, place, text,
    people and the conference link go.
    """
    return {
        **doc,
        "title": PRIVATE_TITLE,
        "displayTitle": PRIVATE_TITLE,
        "location": "",
        "description": "",
        "organizer": None,
        "attendees": [],
        "conference": None,
    }


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
