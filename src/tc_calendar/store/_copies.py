"""A mailbox's own copy of an occurrence as JSON, kept when that copy lost to the shared content.

When an attendee's copy differs from the organizer's copy that is stored, the attendee's version is not shown,
but it is kept: if the organizer's copy goes (the organizer cancelled or deleted the meeting, and Exchange
updated the attendees' copies first), the attendee's version takes its place at once instead of waiting for a
put that never comes, because the attendee's copy does not change again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING
from datetime import datetime
from enum import StrEnum
from typing import Any

from tc_calendar.model import (
    OCCURRENCE_FIELDS,
    Attendee,
    ConferenceLink,
    FieldKind,
    Occurrence,
    OccurrenceField,
    OccurrenceKey,
    Response,
    Role,
)


def occurrence_to_json(occurrence: Occurrence) -> dict[str, Any]:
    data: dict[str, Any] = {"uid": occurrence.key.uid, "recurrence_id": _time(occurrence.key.recurrence_id)}
    for name, encode in _ENCODERS:
        data[name] = encode(getattr(occurrence, name))
    return data


def occurrence_from_json(data: dict[str, Any]) -> Occurrence:
    """The inverse of :func:`occurrence_to_json`; a field missing from a copy kept before it existed is its default."""
    values = {name: decode(data) for name, decode in _DECODERS}
    return Occurrence(key=OccurrenceKey(data["uid"], _parse(data["recurrence_id"])), **values)


def _decoder(spec: OccurrenceField) -> Callable[[dict[str, Any]], Any]:
    """How one field is read from a kept copy (worked out once per field, not per copy)."""
    name, default = spec.name, spec.default
    if spec.kind is FieldKind.CHOICE:
        assert spec.choices is not None, f"{spec.name} declares its choices"
        decode: Callable[[Any], Any] = spec.choices
    else:
        decode = _FROM_JSON[spec.kind]
    if default is MISSING:
        return lambda data: decode(data[name])
    return lambda data: decode(data[name]) if name in data else default


def _person(attendee: Attendee | None) -> dict[str, Any] | None:
    if attendee is None:
        return None
    return {
        "email": attendee.email,
        "name": attendee.name,
        "role": attendee.role.value,
        "response": attendee.response.value,
        "response_time": _time(attendee.response_time),
    }


def _attendee(data: dict[str, Any] | None) -> Attendee | None:
    if not data:
        return None
    return Attendee(
        data["email"], data["name"], Role(data["role"]), Response(data["response"]), _parse(data["response_time"])
    )


def _people_to_json(attendees: tuple[Attendee, ...]) -> list[dict[str, Any] | None]:
    return [_person(attendee) for attendee in attendees]


def _people(data: list[dict[str, Any]]) -> tuple[Attendee | None, ...]:
    return tuple(_attendee(person) for person in data)


def _conference_to_json(conference: ConferenceLink | None) -> list[Any] | None:
    return [conference.conference_id, conference.url, conference.server] if conference else None


def _conference(data: list[Any] | None) -> ConferenceLink | None:
    return ConferenceLink(*data) if data else None


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _same(value: Any) -> Any:
    return value


def _choice(value: StrEnum) -> str:
    return value.value


_TO_JSON: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TEXT: _same,
    FieldKind.OPTIONAL_TEXT: _same,
    FieldKind.FLAG: _same,
    FieldKind.CHOICE: _choice,
    FieldKind.TIME: _time,
    FieldKind.PERSON: _person,
    FieldKind.PEOPLE: _people_to_json,
    FieldKind.CONFERENCE: _conference_to_json,
}

_FROM_JSON: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.TEXT: _same,
    FieldKind.OPTIONAL_TEXT: _same,
    FieldKind.FLAG: _same,
    FieldKind.TIME: _parse,
    FieldKind.PERSON: _attendee,
    FieldKind.PEOPLE: _people,
    FieldKind.CONFERENCE: _conference,
}

_ENCODERS = tuple((spec.name, _TO_JSON[spec.kind]) for spec in OCCURRENCE_FIELDS)
_DECODERS = tuple((spec.name, _decoder(spec)) for spec in OCCURRENCE_FIELDS)
