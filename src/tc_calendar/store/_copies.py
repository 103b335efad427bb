"""A mailbox's own copy of an occurrence as JSON, kept when that copy lost to the shared content.

When an attendee's copy differs from the organizer's copy that is stored, the attendee's version is not shown,
but it is kept: if the organizer's copy goes (the organizer cancelled or deleted the meeting, and Exchange
updated the attendees' copies first), the attendee's version takes its place at once instead of waiting for a
put that never comes, because the attendee's copy does not change again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role, Sensitivity


def occurrence_to_json(occurrence: Occurrence) -> dict[str, Any]:
    conference = occurrence.conference
    return {
        "uid": occurrence.key.uid,
        "recurrence_id": _time(occurrence.key.recurrence_id),
        "title": occurrence.title,
        "start": _time(occurrence.start),
        "end": _time(occurrence.end),
        "all_day": occurrence.all_day,
        "location": occurrence.location,
        "description": occurrence.description,
        "organizer": _person(occurrence.organizer) if occurrence.organizer else None,
        "attendees": [_person(attendee) for attendee in occurrence.attendees],
        "cancelled": occurrence.cancelled,
        "conference": [conference.conference_id, conference.url, conference.server] if conference else None,
        "recurrence_summary": occurrence.recurrence_summary,
        "is_exception": occurrence.is_exception,
        "sensitivity": occurrence.sensitivity.value,
    }


def occurrence_from_json(data: dict[str, Any]) -> Occurrence:
    conference = data["conference"]
    return Occurrence(
        key=OccurrenceKey(data["uid"], _parse(data["recurrence_id"])),
        title=data["title"],
        start=_required(data["start"]),
        end=_required(data["end"]),
        all_day=data["all_day"],
        location=data["location"],
        description=data["description"],
        organizer=_attendee(data["organizer"]) if data["organizer"] else None,
        attendees=tuple(_attendee(person) for person in data["attendees"]),
        cancelled=data["cancelled"],
        conference=ConferenceLink(*conference) if conference else None,
        recurrence_summary=data["recurrence_summary"],
        is_exception=data["is_exception"],
        sensitivity=Sensitivity(data.get("sensitivity", Sensitivity.NORMAL.value)),  # copies kept before 0005
    )


def _person(attendee: Attendee) -> dict[str, Any]:
    return {
        "email": attendee.email,
        "name": attendee.name,
        "role": attendee.role.value,
        "response": attendee.response.value,
        "response_time": _time(attendee.response_time),
    }


def _attendee(data: dict[str, Any]) -> Attendee:
    return Attendee(
        data["email"], data["name"], Role(data["role"]), Response(data["response"]), _parse(data["response_time"])
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _required(value: str) -> datetime:
    return datetime.fromisoformat(value)
