"""A stable fingerprint of what users see of an occurrence.

Exchange gives an item a new ChangeKey for edits nobody sees (a reminder set, a category, a read receipt), and
every copy of a meeting has its own ChangeKey. Comparing this hash instead means that only a visible change causes
a write and a change-log entry (as vdirsyncer compares content hashes, not etags).

The hash covers every field of :class:`~tc_calendar.model.Occurrence` (as declared in
:data:`~tc_calendar.model.OCCURRENCE_FIELDS`) in a canonical JSON form (sorted keys, UTC ISO times), prefixed with
a version so that a future change of the form re-syncs once instead of silently mismatching. A field added later
(``hashed_when_default=False``) is left out while it has its default, so existing hashes stay valid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tc_calendar.model import OCCURRENCE_FIELDS, Attendee, ConferenceLink, FieldKind, Occurrence

HASH_VERSION = "v1"


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _person(attendee: Attendee | None) -> list[object] | None:
    if attendee is None:
        return None
    return [attendee.email, attendee.name, attendee.role.value, attendee.response.value, _when(attendee.response_time)]


def _conference(conference: ConferenceLink | None) -> list[object] | None:
    return [conference.conference_id, conference.url, conference.server] if conference else None


def _people(attendees: tuple[Attendee, ...]) -> list[object]:
    return [_person(attendee) for attendee in attendees]


def _plain(value: object) -> object:
    return value.value if isinstance(value, StrEnum) else value


_CANONICAL: dict[FieldKind, Callable[[Any], object]] = {
    FieldKind.TEXT: _plain,
    FieldKind.OPTIONAL_TEXT: _plain,
    FieldKind.FLAG: _plain,
    FieldKind.CHOICE: _plain,
    FieldKind.TIME: _when,
    FieldKind.PERSON: _person,
    FieldKind.PEOPLE: _people,
    FieldKind.CONFERENCE: _conference,
}


#: Per field: its name, its canonical form, and whether it is hashed when it has its default (worked out once).
_HASHED = tuple(
    (spec.name, _CANONICAL[spec.kind], spec.hashed_when_default, spec.default) for spec in OCCURRENCE_FIELDS
)


def canonical(occurrence: Occurrence) -> str:
    """The canonical text the hash is taken of (useful to see why two hashes differ)."""
    data: dict[str, object] = {"uid": occurrence.key.uid, "recurrence_id": _when(occurrence.key.recurrence_id)}
    for name, encode, always, default in _HASHED:
        value = getattr(occurrence, name)
        if always or value != default:
            data[name] = encode(value)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(occurrence: Occurrence) -> str:
    """``v1:<sha256 hex>`` of the occurrence's visible content."""
    digest = hashlib.sha256(canonical(occurrence).encode("utf-8")).hexdigest()
    return f"{HASH_VERSION}:{digest}"
