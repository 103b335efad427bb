"""Conversion between the domain's :class:`~tc_calendar.model.Occurrence` and the store's rows.

The columns follow the fields declared in :data:`~tc_calendar.model.OCCURRENCE_FIELDS` (see
``tables.content_columns``): one column per field, a prefix of several for a person or a conference link, and
the ``attendees`` table for the attendees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from tc_calendar.model import (
    OCCURRENCE_FIELDS,
    Attendee,
    ConferenceLink,
    FieldKind,
    Occurrence,
    OccurrenceField,
    Response,
    Role,
)
from tc_calendar.store._keys import encode_recurrence_id, key_of


def occurrence_values(occurrence: Occurrence) -> dict[str, Any]:
    """The shared content columns of ``occurrences`` for one occurrence (not its key or bookkeeping)."""
    values: dict[str, Any] = {}
    for name, write in _WRITERS:
        write(getattr(occurrence, name), values)
    return values


def _writer(spec: OccurrenceField) -> Callable[[Any, dict[str, Any]], None]:
    """How one field's value goes into its column(s): worked out once per field, not per row."""
    column = spec.column_name

    def plain(value: Any, values: dict[str, Any]) -> None:
        values[column] = value

    def choice(value: StrEnum, values: dict[str, Any]) -> None:
        values[column] = value.value

    email, name, role, response, response_time = (f"{column}_{part}" for part in _PERSON_PARTS)

    def person(value: Attendee | None, values: dict[str, Any]) -> None:
        if value is None:
            values[email] = values[name] = values[role] = values[response] = values[response_time] = None
        else:
            values[email], values[name], values[response_time] = value.email, value.name, value.response_time
            values[role], values[response] = value.role.value, value.response.value

    def conference(value: ConferenceLink | None, values: dict[str, Any]) -> None:
        values[f"{column}_id"] = value.conference_id if value else None
        values[f"{column}_url"] = value.url if value else None
        values[f"{column}_server"] = value.server if value else None

    def nothing(value: Any, values: dict[str, Any]) -> None:
        pass  # rows of ``attendees``: attendee_values

    writers: dict[FieldKind, Callable[[Any, dict[str, Any]], None]] = {
        FieldKind.CHOICE: choice,
        FieldKind.PERSON: person,
        FieldKind.CONFERENCE: conference,
        FieldKind.PEOPLE: nothing,
    }
    return writers.get(spec.kind, plain)


_PERSON_PARTS = ("email", "name", "role", "response", "response_time")


def key_values(occurrence: Occurrence) -> dict[str, str]:
    return {"uid": occurrence.key.uid, "recurrence_id": encode_recurrence_id(occurrence.key.recurrence_id)}


def attendee_values(attendees: Sequence[Attendee]) -> list[dict[str, Any]]:
    """The ``attendees`` rows of one occurrence, in order, without the occurrence id."""
    return [
        {
            "position": position,
            "email": attendee.email,
            "name": attendee.name,
            "role": attendee.role.value,
            "response": attendee.response.value,
            "response_time": attendee.response_time,
        }
        for position, attendee in enumerate(attendees)
    ]


def attendee_from_row(row: Row[Any]) -> Attendee:
    data = row._mapping
    return Attendee(
        email=data["email"],
        name=data["name"],
        role=Role(data["role"]),
        response=Response(data["response"]),
        response_time=data["response_time"],
    )


def occurrence_from_row(row: Row[Any], attendees: Sequence[Attendee]) -> Occurrence:
    """An :class:`Occurrence` from an ``occurrences`` row and its attendees in their stored order."""
    data = row._mapping
    values = {name: read(data) for name, read in _READERS}
    return Occurrence(key=key_of(data["uid"], data["recurrence_id"]), attendees=tuple(attendees), **values)


def _reader(spec: OccurrenceField) -> Callable[[Mapping[Any, Any]], Any]:
    """How one field's value is read from its column(s) (the attendees come from their own table)."""
    column = spec.column_name
    match spec.kind:
        case FieldKind.CHOICE:
            choices = spec.choices
            assert choices is not None, f"{spec.name} declares its choices"
            return lambda data: choices(data[column])
        case FieldKind.PERSON:
            return lambda data: _person(data, column)
        case FieldKind.CONFERENCE:
            return lambda data: _conference(data, column)
        case _:
            return lambda data: data[column]


def _person(data: Mapping[Any, Any], column: str) -> Attendee | None:
    if data[f"{column}_email"] is None:
        return None
    response_time: datetime | None = data[f"{column}_response_time"]
    return Attendee(
        email=data[f"{column}_email"],
        name=data[f"{column}_name"] or "",
        role=Role(data[f"{column}_role"] or Role.ORGANIZER),
        response=Response(data[f"{column}_response"] or Response.ORGANIZER),
        response_time=response_time,
    )


def _conference(data: Mapping[Any, Any], column: str) -> ConferenceLink | None:
    if data[f"{column}_id"] is None:
        return None
    return ConferenceLink(data[f"{column}_id"], data[f"{column}_url"] or "", data[f"{column}_server"])


_WRITERS = tuple((spec.name, _writer(spec)) for spec in OCCURRENCE_FIELDS)
_READERS = tuple((spec.name, _reader(spec)) for spec in OCCURRENCE_FIELDS if spec.kind is not FieldKind.PEOPLE)
