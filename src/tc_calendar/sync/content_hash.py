"""A stable fingerprint of what users see of an occurrence.

Exchange gives an item a new ChangeKey for edits nobody sees (a reminder set, a category, a read receipt), and
every copy of a meeting has its own ChangeKey. Comparing this hash instead means that only a visible change causes
a write and a change-log entry (as vdirsyncer compares content hashes, not etags).

The hash covers every field of :class:`~tc_calendar.model.Occurrence` in a canonical JSON form (sorted keys, UTC
ISO times), prefixed with a version so that a future change of the form re-syncs once instead of silently
mismatching.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from tc_calendar.model import Attendee, Occurrence, Sensitivity

HASH_VERSION = "v1"


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _person(attendee: Attendee | None) -> list[object] | None:
    if attendee is None:
        return None
    return [attendee.email, attendee.name, attendee.role.value, attendee.response.value, _when(attendee.response_time)]


def canonical(occurrence: Occurrence) -> str:
    """The canonical text the hash is taken of (useful to see why two hashes differ)."""
    conference = occurrence.conference
    data = {
        "uid": occurrence.key.uid,
        "recurrence_id": _when(occurrence.key.recurrence_id),
        "title": occurrence.title,
        "start": _when(occurrence.start),
        "end": _when(occurrence.end),
        "all_day": occurrence.all_day,
        "location": occurrence.location,
        "description": occurrence.description,
        "organizer": _person(occurrence.organizer),
        "attendees": [_person(a) for a in occurrence.attendees],
        "cancelled": occurrence.cancelled,
        "conference": [conference.conference_id, conference.url, conference.server] if conference else None,
        "recurrence_summary": occurrence.recurrence_summary,
        "is_exception": occurrence.is_exception,
    }
    if occurrence.sensitivity is not Sensitivity.NORMAL:  # absent when normal: the hashes of stored events stay
        data["sensitivity"] = occurrence.sensitivity.value
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(occurrence: Occurrence) -> str:
    """``v1:<sha256 hex>`` of the occurrence's visible content."""
    digest = hashlib.sha256(canonical(occurrence).encode("utf-8")).hexdigest()
    return f"{HASH_VERSION}:{digest}"
