"""How an occurrence's recurrence id is kept in a column that can take part in unique constraints.

SQL treats NULLs as distinct in unique constraints, so "the single event with UID x" (recurrence id None) would
not be unique. The store therefore keeps the recurrence id as text: ``""`` for a single event and the iCalendar
``RECURRENCE-ID`` form in UTC (``20260105T090000Z``, with ``.ffffff`` before the ``Z`` when there are
microseconds) for an occurrence of a series. The text sorts in time order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tc_calendar.model import OccurrenceKey

SINGLE = ""
_FORMAT = "%Y%m%dT%H%M%S"


def encode_recurrence_id(recurrence_id: datetime | None) -> str:
    """The column value for ``recurrence_id`` (which must be timezone-aware when given)."""
    if recurrence_id is None:
        return SINGLE
    if recurrence_id.tzinfo is None:
        raise ValueError("recurrence id must be timezone-aware")
    utc = recurrence_id.astimezone(UTC)
    text = utc.strftime(_FORMAT)
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def decode_recurrence_id(text: str) -> datetime | None:
    """The inverse of :func:`encode_recurrence_id`."""
    if text == SINGLE:
        return None
    body = text.removesuffix("Z")
    whole, _, fraction = body.partition(".")
    value = datetime.strptime(whole, _FORMAT).replace(tzinfo=UTC)
    return value.replace(microsecond=int(fraction)) if fraction else value


def key_of(uid: str, recurrence_text: str) -> OccurrenceKey:
    """The domain key from the two key columns."""
    return OccurrenceKey(uid, decode_recurrence_id(recurrence_text))
