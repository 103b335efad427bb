"""Conversion between the domain's :class:`~tc_calendar.model.Occurrence` and the store's rows.

The columns follow the fields declared in :data:`~tc_calendar.model.OCCURRENCE_FIELDS` (see
``tables.content_columns``): one column per field, a prefix of several for a person or a conference link, and
the ``attendees`` table for the attendees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from tc_calendar.model import OCCURRENCE_FIELDS, Attendee, ConferenceLink, FieldKind, Occurrence, Response, Role
from tc_calendar.store._keys import encode_recurrence_id, key_of


def occurrence_values(occurrence: Occurrence) -> dict[str, Any]:
    """The shared content columns of ``occurrences`` for one occurrence (not its key or bookkeeping)."""
    values: dict[str, Any] = {}
    for spec in OCCURRENCE_FIELDS:
        value = getattr(occurrence, spec.name)
        column = spec.column_name
        match spec.kind:
            case FieldKind.PEOPLE:
                pass  # rows of ``attendees``: attendee_values
            case FieldKind.CHOICE:
                values[column] = value.value
            case FieldKind.PERSON:
                values.update(_person_values(column, value))
            case FieldKind.CONFERENCE:
                values[f"{column}_id"] = value.conference_id if value else None
                values[f"{column}_url"] = value.url if value else None
                values[f"{column}_server"] = value.server if value else None
            case _:
                values[column] = value
    return values


def _person_values(column: str, person: Attendee | None) -> dict[str, Any]:
    return {
        f"{column}_email": person.email if person else None,
        f"{column}_name": person.name if person else None,
        f"{column}_role": person.role.value if person else None,
        f"{column}_response": person.response.value if person else None,
        f"{column}_response_time": person.response_time if person else None,
    }


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
    values: dict[str, Any] = {}
    for spec in OCCURRENCE_FIELDS:
        column = spec.column_name
        match spec.kind:
            case FieldKind.PEOPLE:
                values[spec.name] = tuple(attendees)
            case FieldKind.CHOICE:
                assert spec.choices is not None, f"{spec.name} declares its choices"
                values[spec.name] = spec.choices(data[column])
            case FieldKind.PERSON:
                values[spec.name] = _person(data, column)
            case FieldKind.CONFERENCE:
                values[spec.name] = _conference(data, column)
            case _:
                values[spec.name] = data[column]
    return Occurrence(key=key_of(data["uid"], data["recurrence_id"]), **values)


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
