"""Conversion between the domain's :class:`~tc_calendar.model.Occurrence` and the store's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, Response, Role, Sensitivity
from tc_calendar.store._keys import encode_recurrence_id, key_of


def occurrence_values(occurrence: Occurrence) -> dict[str, Any]:
    """The shared content columns of ``occurrences`` for one occurrence (not its key or bookkeeping)."""
    organizer = occurrence.organizer
    conference = occurrence.conference
    return {
        "title": occurrence.title,
        "start_at": occurrence.start,
        "end_at": occurrence.end,
        "all_day": occurrence.all_day,
        "location": occurrence.location,
        "description": occurrence.description,
        "organizer_email": organizer.email if organizer else None,
        "organizer_name": organizer.name if organizer else None,
        "organizer_role": organizer.role.value if organizer else None,
        "organizer_response": organizer.response.value if organizer else None,
        "organizer_response_time": organizer.response_time if organizer else None,
        "cancelled": occurrence.cancelled,
        "is_exception": occurrence.is_exception,
        "recurrence_summary": occurrence.recurrence_summary,
        "conference_id": conference.conference_id if conference else None,
        "conference_url": conference.url if conference else None,
        "conference_server": conference.server if conference else None,
        "sensitivity": occurrence.sensitivity.value,
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
    return Occurrence(
        key=key_of(data["uid"], data["recurrence_id"]),
        title=data["title"],
        start=data["start_at"],
        end=data["end_at"],
        all_day=data["all_day"],
        location=data["location"],
        description=data["description"],
        organizer=_organizer(data),
        attendees=tuple(attendees),
        cancelled=data["cancelled"],
        conference=_conference(data),
        recurrence_summary=data["recurrence_summary"],
        is_exception=data["is_exception"],
        sensitivity=Sensitivity(data["sensitivity"]),
    )


def _organizer(data: Mapping[Any, Any]) -> Attendee | None:
    if data["organizer_email"] is None:
        return None
    response_time: datetime | None = data["organizer_response_time"]
    return Attendee(
        email=data["organizer_email"],
        name=data["organizer_name"] or "",
        role=Role(data["organizer_role"] or Role.ORGANIZER),
        response=Response(data["organizer_response"] or Response.ORGANIZER),
        response_time=response_time,
    )


def _conference(data: Mapping[Any, Any]) -> ConferenceLink | None:
    if data["conference_id"] is None:
        return None
    return ConferenceLink(data["conference_id"], data["conference_url"] or "", data["conference_server"])
